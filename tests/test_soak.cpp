// Soak: 10^4 steps at 500 consumers with every mechanism on (a licensed JV with fees,
// mandatory sharing under opt-in consent, breaches, antitrust with remedies, entry, a network
// and policy events), checking MODEL.md section 8's accounting identities at every step.
#include <algorithm>
#include <numeric>

#include <omp.h>

#include "helpers.hpp"
#include "run_helpers.hpp"

using namespace policysim;
using namespace policysim::test;

TEST_CASE("soak: 10^4 steps keep the JV accounting identities and the state's invariants at every step") {
  constexpr std::int64_t kSteps = 10000;
  // kRich with its steps raised in the file, where the policy events are checked against them
  std::string toml = kRich;
  toml.replace(toml.find("steps = 60"), 10, "steps = 10000");
  toml += R"(
[[policy]]
at = 4000
set = { "jv.participation" = "voluntary", "regulator.breach.base_rate" = 0.2 }
[[policy]]
at = 7000
set = { "regulator.consent" = "opt_in", "jv.access" = "licensed", "jv.anonymization" = 0.6 }
)";
  const Model m = build_model(scenario_from(
      toml, {{"consumers.count", "500"}, {"network.kind", "watts_strogatz"}}));
  REQUIRE(m.steps == kSteps);
  // one chunk of consumers: a second thread has nothing to do but wait at every step's barrier
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  State st = initial_state(m, 1);
  std::int64_t checked = 0, fee_steps = 0, fines = 0, breaches = 0, inflow_steps = 0;
  double previous_pool = st.jv.data;
  for (std::int64_t t = 0; t < kSteps; ++t) {
    step(m, st);
    const Phase& ph = m.phase(t);
    const auto& jv = ph.params.jv;
    // sum of contributions * (1 - anonymization) == JV inflow
    const double contributed = std::accumulate(st.services.contribution.begin(), st.services.contribution.end(), 0.0);
    const double inflow_error = std::abs(contributed * (1.0 - jv.anonymization) - st.jv.inflow);
    // sum of dividends == JV revenue * members' total shareholding
    const double dividends = std::accumulate(st.firms.dividends.begin(), st.firms.dividends.end(), 0.0);
    const double held = std::accumulate(ph.shareholding.begin(), ph.shareholding.end(), 0.0);
    const double dividend_error = std::abs(dividends - st.jv.revenue * held);
    // the pool: depreciation plus the step's inflow
    const double pool_error = std::abs((1.0 - jv.depreciation) * previous_pool + st.jv.inflow - st.jv.data);
    // JV revenue is the sum of the fees, and the state keeps the rest
    const double fees = std::accumulate(st.firms.fees.begin(), st.firms.fees.end(), 0.0);
    const double revenue_error = std::abs(fees - st.jv.revenue) + std::abs(st.jv.revenue - dividends - st.jv.state_income);
    // shares of each sector, outside option included, sum to one
    double share_error = 0;
    for (int s = 0; s < m.sectors; ++s) {
      double users = 0;
      for (int k : m.sector_services[s]) users += st.services.users[k];
      share_error = std::max(share_error, users > m.consumers ? 1.0 : 0.0);
    }
    const double scale = 1.0 + std::abs(st.jv.data) + std::abs(st.jv.revenue);
    const bool ok = inflow_error <= 1e-12 * scale && dividend_error <= 1e-12 * scale && pool_error <= 1e-12 * scale &&
                    revenue_error <= 1e-12 * scale && share_error == 0 && st.jv.data >= 0;
    if (!ok) {
      INFO("step " << t << ": inflow error " << inflow_error << ", dividend error " << dividend_error << ", pool error "
                   << pool_error << ", revenue error " << revenue_error << ", share error " << share_error);
      FAIL_CHECK("an accounting identity fails");
      break;
    }
    ++checked;
    previous_pool = st.jv.data;
    fee_steps += st.jv.revenue > 0;
    inflow_steps += st.jv.inflow > 0;
    fines += st.totals.fines;
    breaches += st.totals.breaches;
  }
  omp_set_num_threads(threads);
  CHECK(checked == kSteps);
  // the identities were tested on real flows, not on zeros
  CHECK(fee_steps > kSteps / 2);
  CHECK(inflow_steps > kSteps / 2);
  CHECK(fines > 0);
  CHECK(breaches > 0);
  CHECK(st.totals.nonfinite == 0);
}
