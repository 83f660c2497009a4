#include "policysim/run.hpp"

#include <chrono>
#include <ctime>
#include <unistd.h>

#include <fmt/format.h>
#include <omp.h>

#include "policysim/errors.hpp"
#include "policysim/metrics.hpp"
#include "policysim/simulation.hpp"
#include "policysim/version.hpp"

namespace policysim {
namespace {

// Progress on stderr, only when it is a terminal.
class Progress {
 public:
  explicit Progress(bool quiet) : on_(!quiet && isatty(STDERR_FILENO)) {}
  void show(std::int64_t rep, std::int64_t reps, std::int64_t step, std::int64_t steps) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (step + 1 < steps && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    fmt::print(stderr, "\rreplication {}/{}  step {}/{}", rep, reps, step + 1, steps);
    if (step + 1 == steps && rep == reps) fmt::print(stderr, "\n");
  }

 private:
  bool on_;
  std::chrono::steady_clock::time_point last_{};
};

std::string compact_timestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

}  // namespace

std::string utc_timestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Scenario load_for_run(const RunOptions& o) {
  std::vector<Override> overrides = o.overrides;
  if (o.seed) overrides.push_back({"scenario.seed", std::to_string(*o.seed)});
  if (o.steps) overrides.push_back({"scenario.steps", std::to_string(*o.steps)});
  if (o.replications) overrides.push_back({"scenario.replications", std::to_string(*o.replications)});
  return load_scenario(o.scenario_path, overrides);
}

fs::path run_scenario(const RunOptions& o) {
  const Scenario scenario = load_for_run(o);
  const Model model = build_model(scenario);
  if (!o.quiet)
    for (const auto& note : model.skipped_policy_notes) fmt::print(stderr, "{}\n", note);
  const fs::path out = o.out.empty() ? fs::path("runs") / fmt::format("{}-{}", scenario.scenario.name, compact_timestamp())
                                     : fs::path(o.out);
  if (non_empty_dir(out) && !o.force)
    throw InputError(fmt::format("{}: the output directory is not empty (use --force to write into it)", out.string()));
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw IoError(fmt::format("{}: cannot create the output directory: {}", out.string(), ec.message()));
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  const std::string sha = sha256_file(o.scenario_path);
  const nlohmann::json resolved = scenario_json(scenario);

  const auto reps = scenario.scenario.replications;
  Progress progress(o.quiet);
  std::string summary;
  for (std::int64_t r = 1; r <= reps; ++r) {
    const fs::path dir = reps > 1 ? out / fmt::format("rep-{:03d}", r) : out;
    fs::create_directories(dir, ec);
    const std::string started = utc_timestamp();
    const auto t0 = std::chrono::steady_clock::now();
    State state = initial_state(model, static_cast<std::uint32_t>(r));
    RunWriter writer(dir, model);
    RunSummary run_summary;
    while (state.step < model.steps) {
      step(model, state);
      const MetricsRow row = metrics_row(model, state);
      writer.write_step(model, state, row);
      run_summary.add(model, state, row);
      progress.show(r, reps, state.step - 1, model.steps);
    }
    writer.commit();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nlohmann::json manifest = {
        {"engine", "policysim"}, {"version", kVersion}, {"git_commit", kGitCommit},
        {"scenario_path", o.scenario_path}, {"scenario_sha256", sha}, {"scenario", resolved},
        {"seed", scenario.scenario.seed}, {"replication", r}, {"steps", model.steps},
        {"threads", threads}, {"ranks", 1}, {"wall_seconds", wall},
        {"start_time", started}, {"end_time", utc_timestamp()}, {"status", "complete"}};
    write_file_atomic(dir / "manifest.json", manifest.dump(2) + "\n");
    if (reps > 1) {
      if (summary.empty()) {
        std::vector<std::string> cols{"replication", "seed"};
        for (auto& c : run_summary.columns(model)) cols.push_back(c);
        summary = csv_line(cols);
      }
      std::vector<std::string> cells{std::to_string(r), std::to_string(scenario.scenario.seed)};
      for (double x : run_summary.values()) cells.push_back(csv_number(x));
      summary += csv_line(cells);
    }
  }
  if (reps > 1) write_file_atomic(out / "summary.csv", summary);
  return out;
}

}  // namespace policysim
