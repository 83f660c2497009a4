// The regulator's own actions (MODEL.md step 4): antitrust fines and remedies, and breaches.
#pragma once

#include "policysim/model.hpp"
#include "policysim/state.hpp"

namespace policysim {

// Fines (and remedies) for firms dominant in a sector for `persistence` steps, outside the
// cooldown; the fine lands in this step's profit. Counts fines.
void antitrust(const Model& model, const Phase& phase, State& state);

// Each data holder is breached with probability base_rate * D/(1+D); the exposed consumers
// lose trust at the start of the next step. Counts breaches.
void breaches(const Model& model, const Phase& phase, State& state);

}  // namespace policysim
