// One replication of a scenario: its initial state and the step, a list of stages.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "policysim/model.hpp"
#include "policysim/state.hpp"

namespace policysim {

// A NaN or Inf that the numerical guard found after a stage of the step (or in the initial
// state, stage "initial"): the run cannot go on meaningfully. The message names all four parts.
class NumericalError : public std::runtime_error {
 public:
  NumericalError(std::int64_t step, std::string stage, std::string entity, std::string variable, double value,
                 const std::string& detail = "");
  std::int64_t step;     // the step being run
  std::string stage;     // stage_names() entry, or "initial"
  std::string entity;    // e.g. "service 'Taobao' (firm 'Alibaba')", "jv", "consumer 17"
  std::string variable;  // the state variable, e.g. "services.quality"
  double value;          // what it held
};

// The state at the start of step 0 for one replication (1-based), per MODEL.md section 4.
State initial_state(const Model& model, std::uint32_t replication);

// Wall seconds spent in each stage, in the order of stage_names(), summed over steps.
struct StageTimes {
  std::vector<double> seconds;
};
std::vector<std::string> stage_names();
// Runs stage number `stage` (of stage_names()) of the current step alone, for benchmarks.
void run_stage(const Model& model, State& state, std::size_t stage);

// Advances `state` by one step (MODEL.md section 3); with `times`, adds each stage's time.
// After each stage the numerical guard checks the market, firm and JV state (and the consumer
// pass's count of non-finite surpluses) and throws NumericalError at the first NaN or Inf.
void step(const Model& model, State& state, StageTimes* times = nullptr);

// A 64-bit digest of everything a later step reads (consumers, network, market, JV, record):
// equal digests mean equal states, for determinism tests.
std::uint64_t state_digest(const State& state);

}  // namespace policysim
