// The numerical guard, the third tier of errors.hpp: the consumer pass only counts non-finite
// surpluses (totals.nonfinite); after every stage of the step this check reads that count and
// scans the small serial state (services, firms, JV, totals, the option table) for NaN and
// Inf, and reports the first one found with its stage, entity and variable.
#pragma once

#include <string_view>

#include "policysim/model.hpp"
#include "policysim/state.hpp"

namespace policysim {

// Throws NumericalError naming step, stage, entity and variable when a checked value is not
// finite, or when the consumer pass counted non-finite surpluses (naming the first consumer
// whose utilities leave the single-precision range). A few hundred additions when all is well.
void check_finite(const Model& model, const Phase& phase, const State& state, std::string_view stage);

}  // namespace policysim
