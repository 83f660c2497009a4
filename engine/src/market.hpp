// The market update (MODEL.md step 3): shares, data stocks, quality, money, prices,
// innovation, entry and exit. Serial over services and firms; reads the consumer pass's sums.
#pragma once

#include "policysim/model.hpp"
#include "policysim/state.hpp"

namespace policysim {

// Activates the firms whose `enter_at` is this step; counts entries.
void enter_firms(const Model& model, State& state);
// share_k and sector_share_k from this step's users.
void update_shares(const Model& model, State& state);
// D_k: depreciation, new data and ported histories.
void update_data(const Model& model, const Phase& phase, State& state);
// q_k from effective data (own, spillover, JV access) and innovation capital.
void update_quality(const Model& model, const Phase& phase, State& state);
// Per-capita revenue of services and firms at the prices consumers paid this step.
void settle_revenue(const Model& model, const Phase& phase, State& state);
// profit_f = revenue - compliance - fines - fees + dividends - fixed cost.
void settle_profit(const Model& model, const Phase& phase, State& state);
// Best-response prices move toward c + 1/(alpha (1 - S_fs)); fixed prices stay.
void update_prices(const Model& model, const Phase& phase, State& state);
// R_f accumulates profit, less the part lost to sharing.
void update_innovation(const Model& model, const Phase& phase, State& state);
// Services below exit_share for exit_persistence steps leave; counts exits.
void update_exits(const Model& model, const Phase& phase, State& state);

// h(x) for the sector's data returns.
double data_returns(const Sector& sector, double x);

}  // namespace policysim
