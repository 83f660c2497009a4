// Output files of `run` (MODEL.md section 7): names, columns, row counts, replications,
// manifests, atomic writes and the refusal to write into a non-empty directory.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "policysim/errors.hpp"
#include "policysim/output.hpp"
#include "policysim/run.hpp"

using namespace policysim;
using namespace policysim::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    out.push_back(text.substr(start, end - start));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

RunOptions options_for(const fs::path& dir, const std::string& toml) {
  write_text(dir / "scenario.toml", toml);
  RunOptions o;
  o.scenario_path = (dir / "scenario.toml").string();
  o.out = (dir / "out").string();
  o.quiet = true;
  return o;
}

}  // namespace

TEST_CASE("output: run writes the four CSVs with the contract's columns and one row per step and entity") {
  const auto dir = temp_dir("output");
  const auto out = run_scenario(options_for(dir, kTwoFirms));
  const std::map<std::string, std::pair<std::string, int>> expected = {
      {"metrics.csv", {"step,consumers,mean_cs,mean_trust,consent_rate,privacy_harm,total_data,jv_data,"
                       "control_index,breaches,fines,entries,exits,mean_quality,innovation_capital", 1}},
      {"sectors.csv", {"step,sector,users,hhi,top_share,active_services,mean_price,mean_cs", 1}},
      {"services.csv", {"step,service,firm,sector,users,share,sector_share,price,quality,data,contribution_rate", 2}},
      {"firms.csv", {"step,firm,revenue,profit,fines,dividends,fees,data,innovation_capital,jv_contribution", 2}}};
  for (const auto& [file, spec] : expected) {
    CAPTURE(file);
    const auto rows = lines(read_text(out / file));
    REQUIRE(rows.size() == 1 + 20 * static_cast<std::size_t>(spec.second));
    CHECK(rows[0] == spec.first);
    CHECK(rows[1].rfind("0,", 0) == 0);
    CHECK(rows.back().rfind("19,", 0) == 0);
  }
  for (const auto& e : fs::directory_iterator(out)) CHECK(e.path().extension() != ".part");
  const auto manifest = nlohmann::json::parse(read_text(out / "manifest.json"));
  for (const char* key : {"version", "git_commit", "scenario_path", "scenario_sha256", "scenario", "seed",
                          "replication", "steps", "threads", "ranks", "wall_seconds", "start_time", "end_time"})
    CHECK_MESSAGE(manifest.contains(key), key);
  CHECK(manifest["scenario_sha256"] == sha256_file(dir / "scenario.toml"));
  CHECK(manifest["scenario"]["scenario"]["name"] == "two-firms");
  CHECK(manifest["steps"] == 20);
}

TEST_CASE("output: replications go to rep-NNN with a summary row each") {
  const auto dir = temp_dir("reps");
  auto o = options_for(dir, kTwoFirms);
  o.replications = 3;
  const auto out = run_scenario(o);
  for (const char* rep : {"rep-001", "rep-002", "rep-003"}) CHECK(fs::exists(out / rep / "metrics.csv"));
  const auto rows = lines(read_text(out / "summary.csv"));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].rfind("replication,seed,final_consumers,", 0) == 0);
  CHECK(rows[0].find("final_hhi_ecommerce") != std::string::npos);
  CHECK(rows[0].find("mean_privacy_harm") != std::string::npos);
  // replications differ (different random streams) but share the scenario
  CHECK(read_text(out / "rep-001" / "metrics.csv") != read_text(out / "rep-002" / "metrics.csv"));
}

TEST_CASE("output: run refuses a non-empty output directory unless forced, and keeps what was there") {
  const auto dir = temp_dir("refuse");
  auto o = options_for(dir, kTwoFirms);
  fs::create_directories(o.out);
  write_text(fs::path(o.out) / "notes.txt", "mine");
  CHECK_THROWS_AS(run_scenario(o), InputError);
  CHECK(read_text(fs::path(o.out) / "notes.txt") == "mine");
  CHECK(!fs::exists(fs::path(o.out) / "metrics.csv"));
  o.force = true;
  run_scenario(o);
  CHECK(fs::exists(fs::path(o.out) / "metrics.csv"));
}

TEST_CASE("output: an atomic file is invisible until committed and gone if abandoned") {
  const auto dir = temp_dir("atomic");
  {
    AtomicFile f(dir / "a.csv");
    f.write("x\n");
    CHECK(!fs::exists(dir / "a.csv"));
  }
  CHECK(fs::is_empty(dir));
  AtomicFile g(dir / "b.csv");
  g.write("y\n");
  g.commit();
  CHECK(read_text(dir / "b.csv") == "y\n");
}

TEST_CASE("output: an unwritable directory is a clear error") {
  CHECK_THROWS_AS(write_file_atomic("/proc/policysim-no-such-dir/x.csv", "x"), IoError);
}

TEST_CASE("output: numbers are written in the shortest form that reads back exactly") {
  CHECK(csv_number(3) == "3");
  CHECK(csv_number(0.1) == "0.1");
  CHECK(std::stod(csv_number(1.0 / 3.0)) == 1.0 / 3.0);
  CHECK(csv_line({"a", "b,c", "d\"e"}) == "a,\"b,c\",\"d\"\"e\"\n");
}
