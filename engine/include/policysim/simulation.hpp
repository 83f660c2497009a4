// One replication of a scenario: its initial state and the step, a list of stages.
#pragma once

#include <cstdint>

#include "policysim/model.hpp"
#include "policysim/state.hpp"

namespace policysim {

// The state at the start of step 0 for one replication (1-based), per MODEL.md section 4.
State initial_state(const Model& model, std::uint32_t replication);

// Advances `state` by one step (MODEL.md section 3).
void step(const Model& model, State& state);

// A 64-bit digest of everything a later step reads (consumers, network, market, JV, record):
// equal digests mean equal states, for determinism tests.
std::uint64_t state_digest(const State& state);

}  // namespace policysim
