#include "helpers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "regulator.hpp"

namespace policysim::test {
namespace {

// A holds 7/8 of the sector's users and nobody revises, so A stays dominant; its
// best-response price falls from 3.0, so its revenue changes every step.
const char* kAntitrust = R"(
[scenario]
name = "antitrust"
seed = 8
steps = 60
[consumers]
count = 5000
revision_rate = 0.0
[[sector]]
name = "ecommerce"
[[firm]]
name = "A"
pricing = "best_response"
price_adjustment = 0.1
  [[firm.service]]
  name = "a"
  sector = "ecommerce"
  price = 3.0
  initial_share = 0.7
[[firm]]
name = "B"
  [[firm.service]]
  name = "b"
  sector = "ecommerce"
  initial_share = 0.1
[jv]
enabled = true
[regulator.antitrust]
enabled = true
share_threshold = 0.5
persistence = 15
fine_rate = 0.04
remedy_mandate = 0.3
cooldown = 10
)";

// Two firms with data, a third entering at step 5, a JV with A as the contributing member.
const char* kBreach = R"(
[scenario]
name = "breach"
seed = 6
[consumers]
count = 10000
revision_rate = 0.0
consent_revision_rate = 0.0
[[sector]]
name = "ecommerce"
[[firm]]
name = "A"
  [[firm.service]]
  name = "a"
  sector = "ecommerce"
  initial_share = 0.4
  initial_data = 1e9
[[firm]]
name = "B"
  [[firm.service]]
  name = "b"
  sector = "ecommerce"
  initial_share = 0.3
  initial_data = 1e9
[[firm]]
name = "C"
enter_at = 5
  [[firm.service]]
  name = "c"
  sector = "ecommerce"
  initial_data = 1e9
[jv]
enabled = true
members = { A = 0.2 }
anonymization = 0.5
[regulator]
consent = "opt_out"
sharing_mandate = 0.5
[regulator.breach]
base_rate = 1.0
trust_shock = 0.2
trust_recovery = 0.0
)";

double binomial_tol(double n, double p) { return 5.0 * std::sqrt(n * p * (1.0 - p)); }

}  // namespace

TEST_CASE("regulator: a dominant firm is fined fine_rate times its last 12 steps' revenue after persistence steps, then not within cooldown") {
  const Model m = build_model(scenario_from(kAntitrust));
  State st = initial_state(m, 1);
  std::vector<double> revenue;
  std::vector<int> fined_at;
  for (int t = 0; t < 40; ++t) {
    step(m, st);
    revenue.push_back(st.firms.revenue[0]);
    CAPTURE(t);
    REQUIRE(st.services.sector_share[0] > 0.5);
    CHECK(st.firms.fines[1] == 0.0);
    if (st.firms.fines[0] > 0) {
      fined_at.push_back(t);
      const double last12 = std::accumulate(revenue.end() - 12, revenue.end(), 0.0);
      CHECK(st.firms.fines[0] == doctest::Approx(0.04 * last12).epsilon(1e-12));
      CHECK(st.totals.fines == 1);
    } else {
      CHECK(st.totals.fines == 0);
    }
  }
  // dominant from step 0: the 15th consecutive step is step 14; then every cooldown (10)
  CHECK(fined_at == std::vector<int>{14, 24, 34});
  // the window is the last 12 steps, not the whole history: revenue changed over time
  CHECK(revenue[0] != doctest::Approx(revenue[14]));
  CHECK(st.firms.last_fine_step[0] == 34);
  CHECK(st.firms.last_fine_step[1] == -1);
}

TEST_CASE("regulator: the fine lands in the profit of the step it is imposed") {
  const Model m = build_model(scenario_from(kAntitrust));
  State st = initial_state(m, 1);
  for (int t = 0; t < 15; ++t) step(m, st);
  const auto& fm = st.firms;
  REQUIRE(fm.fines[0] > 0.0);
  CHECK(fm.profit[0] == doctest::Approx(fm.revenue[0] - fm.fines[0] + fm.dividends[0] - fm.fees[0]).epsilon(1e-12));
}

TEST_CASE("regulator: the fined firm gets the remedy, a contribution rate of at least remedy_mandate while the JV is enabled") {
  SUBCASE("JV enabled") {
    const Model m = build_model(scenario_from(kAntitrust));
    State st = initial_state(m, 1);
    for (int t = 0; t < 14; ++t) {
      step(m, st);
      CHECK(st.firms.remedy[0] == 0);
      CHECK(st.firms.contribution_rate[0] == 0.0);
    }
    step(m, st);  // step 14: fined
    CHECK(st.firms.remedy[0] == 1);
    CHECK(st.firms.contribution_rate[0] == 0.3);
    CHECK(st.firms.contribution_rate[1] == 0.0);
    step(m, st);
    CHECK(st.services.contribution[0] > 0.0);  // and it now feeds the pool
    CHECK(st.services.contribution[1] == 0.0);
  }
  SUBCASE("the remedy does not lower a higher mandate") {
    const Model m = build_model(scenario_from(kAntitrust, {{"regulator.sharing_mandate", "0.6"},
                                                           {"regulator.mandate_scope", "all"}}));
    const State st = run_steps(m, 16);
    CHECK(st.firms.remedy[0] == 1);
    CHECK(st.firms.contribution_rate[0] == 0.6);
  }
  SUBCASE("JV disabled: the remedy has no rate to raise") {
    const Model m = build_model(scenario_from(kAntitrust, {{"jv.enabled", "false"}}));
    const State st = run_steps(m, 16);
    CHECK(st.firms.remedy[0] == 1);
    CHECK(st.firms.contribution_rate[0] == 0.0);
  }
}

TEST_CASE("regulator: dominance must be consecutive; a step below the threshold restarts the count") {
  const Model m = build_model(scenario_from(kAntitrust, {{"regulator.antitrust.persistence", "3"}}));
  const Phase& ph = m.phase(0);
  State st = initial_state(m, 1);
  st.firms.revenue_history[0].fill(1.0);
  // A's sector share per step: above, above, below, above, above, above
  const std::vector<double> share{0.8, 0.8, 0.4, 0.8, 0.8, 0.8};
  std::vector<double> fines;
  for (std::size_t t = 0; t < share.size(); ++t) {
    st.step = static_cast<std::int64_t>(t);
    st.services.sector_share = {share[t], 1 - share[t]};
    antitrust(m, ph, st);
    fines.push_back(st.firms.fines[0]);
  }
  CHECK(fines == std::vector<double>{0, 0, 0, 0, 0, 0.04 * 12});
  // disabled antitrust never fines
  const Model off = build_model(scenario_from(kAntitrust, {{"regulator.antitrust.enabled", "false"}}));
  const State quiet = run_steps(off, 20);
  CHECK(quiet.firms.last_fine_step[0] == -1);
  CHECK(quiet.firms.remedy[0] == 0);
}

TEST_CASE("regulator: base_rate 0 gives no breach") {
  const Model m = build_model(scenario_from(kBreach, {{"regulator.breach.base_rate", "0.0"}}));
  State st = initial_state(m, 1);
  int breaches = 0;
  for (int t = 0; t < 20; ++t) {
    step(m, st);
    breaches += st.totals.breaches;
    for (int f = 0; f < m.firms; ++f) CHECK(st.firms.breached[f] == 0);
    CHECK_FALSE(st.jv.breached);
  }
  CHECK(breaches == 0);
  CHECK(std::all_of(st.consumers.trust.begin(), st.consumers.trust.end(), [](float t) { return t == 0.7f; }));
}

TEST_CASE("regulator: base_rate 1 with data breaches every active holder every step") {
  const Model m = build_model(scenario_from(kBreach));
  State st = initial_state(m, 1);
  for (int t = 0; t < 10; ++t) {
    step(m, st);
    CAPTURE(t);
    CHECK(st.firms.breached[0] == 1);
    CHECK(st.firms.breached[1] == 1);
    CHECK(st.firms.breached[2] == (t >= 5 ? 1 : 0));  // C holds data but is not in the market before step 5
    CHECK(st.totals.breaches == (t >= 5 ? 3 : 2) + (st.jv.breached ? 1 : 0));
  }
  // the JV as a holder: with a pool of 1e12 and no anonymisation, it is breached too
  const Model m0 = build_model(scenario_from(kBreach, {{"jv.anonymization", "0.0"}}));
  State s0 = initial_state(m0, 1);
  s0.jv.data = 1e12;
  breaches(m0, m0.phase(0), s0);
  CHECK(s0.jv.breached);
  CHECK(s0.totals.breaches == 3);  // A, B and the JV; C not active
}

TEST_CASE("regulator: a holder is breached with probability base_rate*D/(1+D), times (1-anonymization) for the JV") {
  const Model m = build_model(scenario_from(kBreach, {{"regulator.breach.base_rate", "0.8"}}));
  const Phase& ph = m.phase(0);
  State st = initial_state(m, 1);
  st.services.data = {1.0, 3.0, 0.0};
  st.jv.data = 2.0;
  const int draws = 4000;
  std::vector<double> count(3, 0.0);
  for (int t = 0; t < draws; ++t) {
    st.step = t;
    breaches(m, ph, st);
    count[0] += st.firms.breached[0];
    count[1] += st.firms.breached[1];
    count[2] += st.jv.breached;
    CHECK(st.firms.breached[2] == 0);  // not active
  }
  const std::vector<double> p{0.8 * 1.0 / 2.0, 0.8 * 3.0 / 4.0, 0.8 * 2.0 / 3.0 * (1 - 0.5)};
  for (int j = 0; j < 3; ++j) {
    CAPTURE(j);
    POLICYSIM_CHECK_NEAR(count[j], draws * p[j], binomial_tol(draws, p[j]));
  }
}

TEST_CASE("regulator: a firm breach lowers the trust of that firm's users in the next step") {
  const Model m = build_model(scenario_from(kBreach, {{"regulator.breach.base_rate", "0.0"}}));
  State st = initial_state(m, 1);
  st.firms.breached = {1, 0, 0};  // as if A had been breached in the step before
  const auto choice = st.consumers.choice;
  step(m, st);
  std::int64_t wrong = 0;
  for (std::uint32_t i = 0; i < m.consumers; ++i) {
    const float expected = choice[i] == 1 ? 0.5f : 0.7f;
    wrong += std::abs(st.consumers.trust[i] - expected) > 1e-6f;
  }
  CHECK(wrong == 0);
  CHECK(st.totals.trust == doctest::Approx(std::accumulate(st.consumers.trust.begin(), st.consumers.trust.end(), 0.0)));
}

TEST_CASE("regulator: a JV breach lowers the trust of consenting users of contributing services only") {
  // A contributes (member, mandate 0.5), B does not; consent fixed at 1 for even consumers
  const Model m = build_model(scenario_from(kBreach, {{"regulator.breach.base_rate", "0.0"}}));
  State st = initial_state(m, 1);
  REQUIRE(st.firms.contribution_rate[0] == 0.5);
  REQUIRE(st.firms.contribution_rate[1] == 0.0);
  for (std::uint32_t i = 0; i < m.consumers; ++i) st.consumers.consent[i] = i % 2 == 0;
  st.jv.breached = true;
  st.firms.jv_contribution = {0.1, 0.0, 0.0};  // as if A had contributed in the breached step
  const auto choice = st.consumers.choice;
  step(m, st);
  std::int64_t wrong = 0, hit = 0;
  for (std::uint32_t i = 0; i < m.consumers; ++i) {
    const bool exposed = choice[i] == 1 && i % 2 == 0;
    hit += exposed;
    wrong += std::abs(st.consumers.trust[i] - (exposed ? 0.5f : 0.7f)) > 1e-6f;
  }
  CHECK(hit > 0);
  CHECK(wrong == 0);
}

}  // namespace policysim::test
