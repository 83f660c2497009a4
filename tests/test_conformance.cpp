// Every scenario in scenarios/ loads, runs at small N without NaN or Inf, keeps shares in
// [0, 1] summing to one with the outside option, and is identical on a rerun and across thread
// counts. A new scenario file is covered without writing a test.
#include <omp.h>

#include <algorithm>
#include <filesystem>

#include "helpers.hpp"
#include "policysim/metrics.hpp"

using namespace policysim;
using namespace policysim::test;

namespace {

std::vector<std::filesystem::path> scenario_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(POLICYSIM_SCENARIOS_DIR))
    if (e.path().extension() == ".toml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// The scenario at 4000 consumers and at most 48 steps.
Model small_model(const std::filesystem::path& file) {
  const Scenario full = load_scenario(file.string());
  const auto steps = std::min<std::int64_t>(full.scenario.steps, 48);
  return build_model(load_scenario(file.string(), {{"consumers.count", "4000"}, {"scenario.steps", std::to_string(steps)}}));
}

// Runs the model and checks every step's outputs; returns a digest of the whole run.
std::uint64_t run_checked(const Model& m) {
  State st = initial_state(m, 1);
  std::uint64_t digest = 0;
  for (int t = 0; t < m.steps; ++t) {
    step(m, st);
    digest = digest * 31 + state_digest(st);
    const MetricsRow row = metrics_row(m, st);
    for (std::size_t j = 0; j < row.size(); ++j) {
      INFO("step " << t << " metric " << kMetricColumns[j]);
      REQUIRE(std::isfinite(row[j]));
    }
    for (int s = 0; s < m.sectors; ++s) {
      double users = 0, sector_share = 0;
      for (int k : m.sector_services[s]) {
        INFO("step " << t << " service " << k);
        REQUIRE(st.services.share[k] >= 0.0);
        REQUIRE(st.services.share[k] <= 1.0);
        REQUIRE(std::isfinite(st.services.price[k]));
        REQUIRE(std::isfinite(st.services.quality[k]));
        REQUIRE(std::isfinite(st.services.data[k]));
        users += st.services.users[k];
        sector_share += st.services.sector_share[k];
      }
      const double outside = 1.0 - users / m.consumers;
      double shares = outside;
      for (int k : m.sector_services[s]) shares += st.services.share[k];
      REQUIRE(outside >= 0.0);
      POLICYSIM_CHECK_NEAR(shares, 1.0, 1e-12);
      if (users > 0) POLICYSIM_CHECK_NEAR(sector_share, 1.0, 1e-12);
      const SectorRow r = sector_row(m, st, s);
      REQUIRE(std::isfinite(r.mean_cs));
      REQUIRE(r.hhi <= 10000.0 + 1e-9);
    }
    for (int f = 0; f < m.firms; ++f) {
      REQUIRE(std::isfinite(st.firms.profit[f]));
      REQUIRE(std::isfinite(st.firms.innovation[f]));
    }
    REQUIRE(st.totals.nonfinite == 0);
  }
  return digest;
}

}  // namespace

TEST_CASE("conformance: every scenario file runs cleanly, deterministically, for any thread count") {
  const auto files = scenario_files();
  REQUIRE(files.size() >= 2);
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    const Model m = small_model(file);
    omp_set_num_threads(2);
    const auto first = run_checked(m);
    CHECK(first == run_checked(m));
    omp_set_num_threads(1);
    CHECK(first == run_checked(m));
    omp_set_num_threads(2);
  }
}

TEST_CASE("conformance: every scenario file validates and its resolved form reads back") {
  for (const auto& file : scenario_files()) {
    CAPTURE(file.filename().string());
    const Scenario s = load_scenario(file.string());
    const std::string text = to_toml_text(s);
    CHECK(to_toml_text(parse_scenario(text, "resolved.toml")) == text);
  }
}
