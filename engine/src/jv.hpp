// The state-backed joint venture: its data pool, who may use it, access fees and dividends,
// and the contribution rates m_f of the platforms (MODEL.md steps 3b, 3c, 3f, 3h).
#pragma once

#include "policysim/model.hpp"
#include "policysim/state.hpp"

namespace policysim {

// rho_JV: privacy risk of data in the pool, from state control and re-identification.
inline double jv_risk(const JvParams& jv) {
  return jv.regulator_control * jv.surveillance_weight + (1.0 - jv.anonymization) * jv.reid_risk;
}

// 1 if firm f may use the pooled data under the access rule.
double jv_access(const Phase& phase, int firm);

// Contributions X_k from consenting users' data, and the pool's depreciation and inflow.
void update_jv_pool(const Model& model, const Phase& phase, State& state);

// Access fees (`licensed`) and their payout as dividends by shareholding.
void settle_jv_fees(const Model& model, const Phase& phase, State& state);

// m_f for the next step: mandatory, voluntary, and antitrust remedies.
void update_contribution_rates(const Model& model, const Phase& phase, State& state);

}  // namespace policysim
