// `policysim run`: a scenario's replications from start to finish, with their output files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policysim/output.hpp"
#include "policysim/scenario.hpp"

namespace policysim {

struct RunOptions {
  std::string scenario_path;
  std::string out;  // empty: runs/<name>-<timestamp>/
  std::vector<Override> overrides;
  std::optional<std::int64_t> seed, steps, replications;
  int threads = 0;  // 0: OpenMP's default
  bool force = false;
  bool quiet = false;
};

// The scenario with the run's flags applied as overrides (--seed, --steps, --replications).
Scenario load_for_run(const RunOptions& options);

// Runs and writes every output; returns the output directory.
fs::path run_scenario(const RunOptions& options);

// "2026-12-01T09:41:00Z"
std::string utc_timestamp();

}  // namespace policysim
