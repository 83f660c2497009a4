// `policysim bench`: the core step on a synthetic market of 3 sectors of 4 services with every
// consumer-side part on (trust, consent, privacy term, data, JV contributions), timed per stage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policysim/scenario.hpp"

namespace policysim {

struct BenchOptions {
  std::uint32_t consumers = 1000000;
  std::int64_t steps = 10;
  int threads = 0;  // 0: OpenMP's default
  std::string network = "none";
  int degree = 10;
  std::string output;  // when set, every timed step also writes the run's CSV rows here
  // When set, each timed step is paired with one on a single thread, the two in alternating
  // order, so that both see the same load on a shared machine; the result then has speedup.
  bool speedup = false;
};

struct BenchResult {
  std::uint32_t consumers = 0;
  int sectors = 0, services = 0, threads = 0;
  std::int64_t steps = 0;
  double setup_seconds = 0;        // population and network generation
  double step_seconds = 0;         // median wall seconds of one timed step
  double ns_per_decision = 0;      // decision: one consumer in one sector, per step
  double decisions_per_second = 0;
  double state_bytes_per_consumer = 0;  // bytes of the state's arrays / N
  double peak_rss_bytes_per_consumer = 0;
  // With BenchOptions::output: the median time of writing one step's rows, and the median over
  // steps of a step's time with its rows over its time without them (0 otherwise).
  double output_seconds = 0;
  double output_ratio = 0;
  // With BenchOptions::speedup: the median single-thread step, and the median over pairs of
  // its time over the paired step's on `threads` (0 otherwise).
  double one_thread_step_seconds = 0;
  double speedup = 0;
  std::vector<std::string> stage_names;
  std::vector<double> stage_seconds;  // per step, mean over timed steps
};

// The synthetic scenario the benchmark runs (also used by the benchmarks in bench/).
Scenario bench_scenario(const BenchOptions& options);

// One untimed warm-up step, then `steps` timed steps (each paired with a single-thread step
// with BenchOptions::speedup).
BenchResult run_bench(const BenchOptions& options);

// "name value" lines, one per field, then one line per stage.
std::string format_bench(const BenchResult& result);

// Peak resident set size of this process in bytes (VmHWM), 0 where unknown.
std::uint64_t peak_rss_bytes();

}  // namespace policysim
