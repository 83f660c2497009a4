// The consumer population at step 0: attributes drawn from their distributions, consent by
// regime, and initial services by `initial_share`.
#pragma once

#include "policysim/model.hpp"
#include "policysim/state.hpp"

namespace policysim {

// A draw from `d` with a counter engine; Boost.Random supplies the distributions.
double sample(const Distribution& d, CounterEngine& engine);

// Fills state.consumers and the initial users of each service.
void init_population(const Model& model, State& state);

}  // namespace policysim
