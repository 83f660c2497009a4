// `policysim run`: a scenario's replications from start to finish, with their output files,
// checkpoints (periodic with --checkpoint-every, and always when a stop is requested), resume
// from a checkpoint, and the guards that stop a run cleanly (memory, output, numerics).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "policysim/output.hpp"
#include "policysim/scenario.hpp"

namespace policysim {

struct RunOptions {
  std::string scenario_path;
  std::string out;  // empty: runs/<name>-<timestamp>/ (with resume: the checkpoint's directory)
  std::vector<Override> overrides;
  std::optional<std::int64_t> seed, steps, replications;
  int threads = 0;  // 0: OpenMP's default
  bool force = false;  // write into a non-empty directory; skip the memory guard
  bool quiet = false;
  std::int64_t checkpoint_every = 0;  // steps between checkpoints; 0: only when stopped
  std::string resume;                 // a checkpoint to continue from
  // Test seam: called after each step's rows are written, before the stop check.
  std::function<void(std::int64_t replication, std::int64_t steps_done)> after_step;
};

// A run that stopped on request (SIGINT, SIGTERM, request_stop()) at the end of a step, after
// writing its checkpoint and an "interrupted" manifest; the CSVs wait as .part files.
class RunInterrupted : public std::runtime_error {
 public:
  RunInterrupted(int signal, fs::path checkpoint, std::int64_t replication, std::int64_t steps_done,
                 std::string resume_command);
  int signal;                  // SIGINT or SIGTERM
  fs::path checkpoint;         // where the run stands
  std::int64_t replication;    // in progress
  std::int64_t steps_done;     // steps of that replication written
  std::string resume_command;  // the command line that continues the run
  // The shell's exit code for the signal: 130 for SIGINT, 143 for SIGTERM.
  int exit_code() const { return 128 + signal; }
};

// The scenario with the run's flags applied as overrides (--seed, --steps, --replications).
Scenario load_for_run(const RunOptions& options);

// Runs (or, with `resume`, continues) and writes every output; returns the output directory.
// Throws RunInterrupted on a stop request, InputError for bad input (including a checkpoint of
// another run, or a run too large for the free memory), IoError when an output cannot be
// written (no partial file under a final name; the .part files are kept when a checkpoint can
// resume them), NumericalError on a NaN or Inf (the rows before it are written).
fs::path run_scenario(const RunOptions& options);

// "2026-12-01T09:41:00Z"
std::string utc_timestamp();

}  // namespace policysim
