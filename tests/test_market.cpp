#include "helpers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "market.hpp"

namespace policysim::test {
namespace {

// Two sectors; A is an ecosystem (a_shop, a_pay), B and C single-service firms.
// Services: 0 a_shop (ecommerce), 1 a_pay (payments), 2 b_shop (ecommerce), 3 c_pay (payments).
const char* kEcosystem = R"(
[scenario]
name = "market"
seed = 9
[consumers]
count = 20000
revision_rate = 0.2
privacy_sensitivity = { dist = "constant", value = 0.5 }
[market]
cross_sector_spillover = 0.3
innovation_depreciation = 0.1
appropriability_loss = 0.5
[[sector]]
name = "ecommerce"
data_intensity = 1.5
depreciation = 0.1
data_weight = 0.8
data_scale = 2.0
data_exponent = 0.5
innovation_weight = 0.4
[[sector]]
name = "payments"
data_intensity = 0.5
depreciation = 0.2
data_weight = 1.2
data_scale = 0.5
data_exponent = 0.7
innovation_weight = 0.3
[[firm]]
name = "A"
innovation_rate = 0.2
initial_innovation = 1.5
  [[firm.service]]
  name = "a_shop"
  sector = "ecommerce"
  base_quality = 1.0
  initial_share = 0.4
  initial_data = 2.0
  [[firm.service]]
  name = "a_pay"
  sector = "payments"
  base_quality = 0.5
  initial_share = 0.5
  initial_data = 3.0
[[firm]]
name = "B"
initial_innovation = 0.5
  [[firm.service]]
  name = "b_shop"
  sector = "ecommerce"
  base_quality = 1.2
  initial_share = 0.3
  initial_data = 1.0
[[firm]]
name = "C"
  [[firm.service]]
  name = "c_pay"
  sector = "payments"
  initial_share = 0.3
  initial_data = 0.5
)";

Model ecosystem(const std::vector<Override>& overrides = {}) {
  return build_model(scenario_from(kEcosystem, overrides));
}

// h(x), written out independently of the engine.
double returns(const Sector& s, double x) {
  switch (s.data_returns) {
    case DataReturns::kLog: return std::log(1.0 + x);
    case DataReturns::kSaturating: return x / (1.0 + x);
    case DataReturns::kPower: return std::pow(x, s.data_exponent);
  }
  return NAN;
}

// q_k from the data stocks in `st` and innovation capital R (no JV access).
double hand_quality(const Model& m, const State& st, int k, double spill, const std::vector<double>& r) {
  const auto& p = m.scenario;
  const int f = m.service_firm[k];
  double other = 0;
  for (int j : m.firm_services[f])
    if (m.service_sector[j] != m.service_sector[k]) other += st.services.data[j];
  const auto& sec = m.sector_of(p, k);
  const double e = st.services.data[k] + spill * other;
  return m.service(p, k).base_quality + sec.data_weight * returns(sec, e / sec.data_scale) +
         sec.innovation_weight * std::log(1.0 + r[f]);
}

// One sector; firm A has two services (a1, a2), B one (b). Best-response pricing.
const char* kPricing = R"(
[scenario]
name = "pricing"
seed = 4
[consumers]
count = 20000
revision_rate = 0.3
price_sensitivity = 1.5
[[sector]]
name = "ecommerce"
[[firm]]
name = "A"
pricing = "best_response"
price_adjustment = 0.4
  [[firm.service]]
  name = "a1"
  sector = "ecommerce"
  price = 1.0
  marginal_cost = 0.5
  initial_share = 0.3
  [[firm.service]]
  name = "a2"
  sector = "ecommerce"
  price = 2.0
  marginal_cost = 0.7
  initial_share = 0.2
[[firm]]
name = "B"
pricing = "best_response"
price_adjustment = 0.4
  [[firm.service]]
  name = "b"
  sector = "ecommerce"
  price = 3.0
  marginal_cost = 0.4
  initial_share = 0.3
)";

// Every money term at once: consent opt_out with a compliance cost, a licensed JV with
// dividends to members, antitrust fining A from step 0, fixed costs.
const char* kMoney = R"(
[scenario]
name = "money"
seed = 21
[consumers]
count = 20000
revision_rate = 0.2
consent_revision_rate = 0.1
[[sector]]
name = "ecommerce"
[[firm]]
name = "A"
fixed_cost = 0.01
  [[firm.service]]
  name = "a"
  sector = "ecommerce"
  price = 1.2
  marginal_cost = 0.4
  ad_rate = 0.2
  initial_share = 0.5
[[firm]]
name = "B"
fixed_cost = 0.02
  [[firm.service]]
  name = "b"
  sector = "ecommerce"
  price = 1.0
  marginal_cost = 0.5
  ad_rate = 0.1
  initial_share = 0.3
[jv]
enabled = true
members = { A = 0.3, B = 0.2 }
access = "licensed"
access_fee = 0.05
[regulator]
consent = "opt_out"
compliance_cost = 0.1
sharing_mandate = 0.5
[regulator.antitrust]
enabled = true
share_threshold = 0.5
persistence = 1
)";

// kTwoFirms with a third firm that enters at step 5.
const char* kEntry = R"(
[scenario]
name = "entry"
steps = 20
[consumers]
count = 5000
revision_rate = 0.2
[[sector]]
name = "ecommerce"
[[firm]]
name = "A"
  [[firm.service]]
  name = "a"
  sector = "ecommerce"
  initial_share = 0.5
[[firm]]
name = "B"
  [[firm.service]]
  name = "b"
  sector = "ecommerce"
  initial_share = 0.3
[[firm]]
name = "C"
enter_at = 5
  [[firm.service]]
  name = "c"
  sector = "ecommerce"
  base_quality = 1.5
)";

// c has hopeless quality and a sector share below exit_share from the start; nobody revises,
// so its users are still there when it exits.
const char* kExit = R"(
[scenario]
name = "exit"
[consumers]
count = 20000
revision_rate = 0.0
[market]
exit_share = 0.05
exit_persistence = 3
[[sector]]
name = "ecommerce"
[[firm]]
name = "A"
  [[firm.service]]
  name = "a"
  sector = "ecommerce"
  initial_share = 0.5
[[firm]]
name = "B"
  [[firm.service]]
  name = "b"
  sector = "ecommerce"
  initial_share = 0.3
[[firm]]
name = "C"
  [[firm.service]]
  name = "c"
  sector = "ecommerce"
  base_quality = -10.0
  initial_share = 0.01
)";

}  // namespace

TEST_CASE("market: shares are users over N and over the sector's users") {
  const Model m = ecosystem();
  const State st = run_steps(m, 1);
  const auto& sv = st.services;
  const double n = m.consumers;
  for (int s = 0; s < m.sectors; ++s) {
    double users = 0;
    for (int k : m.sector_services[s]) users += sv.users[k];
    for (int k : m.sector_services[s]) {
      CAPTURE(k);
      CHECK(sv.share[k] == doctest::Approx(sv.users[k] / n).epsilon(1e-12));
      CHECK(sv.sector_share[k] == doctest::Approx(sv.users[k] / users).epsilon(1e-12));
    }
  }
}

TEST_CASE("market: data stock is (1-depreciation)*D + flow + ported") {
  const Model m = ecosystem({{"regulator.portability", "0.3"}});
  State st = initial_state(m, 1);
  step(m, st);
  for (int t = 0; t < 2; ++t) {
    const std::vector<double> before = st.services.data;
    step(m, st);
    for (int k = 0; k < m.services; ++k) {
      CAPTURE(t);
      CAPTURE(k);
      const double dep = m.sector_of(m.scenario, k).depreciation;
      CHECK(st.services.ported[k] > 0.0);
      const double expected = (1 - dep) * before[k] + st.services.data_flow[k] + st.services.ported[k];
      POLICYSIM_CHECK_NEAR(st.services.data[k], expected, 1e-12 * expected);
    }
  }
}

TEST_CASE("market: cross-sector spillover raises quality from the firm's other-sector data, siloing removes it") {
  const Model spill = ecosystem();
  const Model silo = ecosystem({{"regulator.siloing", "true"}});
  const State a = initial_state(spill, 1), b = initial_state(silo, 1);
  const std::vector<double> r{1.5, 0.5, 0.0};
  for (int k = 0; k < spill.services; ++k) {
    CAPTURE(k);
    CHECK(a.services.quality[k] == doctest::Approx(hand_quality(spill, a, k, 0.3, r)).epsilon(1e-12));
    CHECK(b.services.quality[k] == doctest::Approx(hand_quality(silo, b, k, 0.0, r)).epsilon(1e-12));
  }
  // A's two services gain from each other's data; single-sector firms are unaffected
  CHECK(a.services.quality[0] > b.services.quality[0]);
  CHECK(a.services.quality[1] > b.services.quality[1]);
  CHECK(a.services.quality[2] == b.services.quality[2]);
  CHECK(a.services.quality[3] == b.services.quality[3]);
  // a_shop by hand: 1 + 0.8*ln(1 + (2 + 0.3*3)/2) + 0.4*ln(2.5)
  CHECK(a.services.quality[0] == doctest::Approx(1.0 + 0.8 * std::log(1 + 2.9 / 2) + 0.4 * std::log(2.5)));
  CHECK(b.services.quality[0] == doctest::Approx(1.0 + 0.8 * std::log(1 + 2.0 / 2) + 0.4 * std::log(2.5)));
}

TEST_CASE("market: quality follows the sector's data returns (log, saturating, power) and the innovation term") {
  for (const char* kind : {"log", "saturating", "power"}) {
    CAPTURE(kind);
    const Model m = ecosystem({{"sector.ecommerce.data_returns", kind}, {"sector.payments.data_returns", kind}});
    State st = initial_state(m, 1);
    for (int k = 0; k < m.services; ++k)
      CHECK(st.services.quality[k] == doctest::Approx(hand_quality(m, st, k, 0.3, {1.5, 0.5, 0.0})).epsilon(1e-12));
    // after steps: quality of the step uses the data after this step and R_f before it
    for (int t = 0; t < 3; ++t) {
      const std::vector<double> r = st.firms.innovation;
      step(m, st);
      for (int k = 0; k < m.services; ++k) {
        CAPTURE(t);
        CAPTURE(k);
        CHECK(st.services.quality[k] == doctest::Approx(hand_quality(m, st, k, 0.3, r)).epsilon(1e-12));
      }
    }
  }
  // the kinds are really different functions of the same data
  const auto q = [](const char* kind) {
    return initial_state(ecosystem({{"sector.payments.data_returns", kind}}), 1).services.quality[1];
  };
  // a_pay: x = (3 + 0.3*2)/0.5 = 7.2; h = ln 8.2, 7.2/8.2, 7.2^0.7
  const double base = 0.5 + 0.3 * std::log(2.5);
  CHECK(q("log") == doctest::Approx(base + 1.2 * std::log(8.2)));
  CHECK(q("saturating") == doctest::Approx(base + 1.2 * 7.2 / 8.2));
  CHECK(q("power") == doctest::Approx(base + 1.2 * std::pow(7.2, 0.7)));
}

TEST_CASE("market: innovation capital raises quality by innovation_weight*ln(1+R_f)") {
  const Model m = ecosystem();
  State st = initial_state(m, 1);
  const double q0 = st.services.quality[2];  // b_shop, R_B = 0.5
  st.firms.innovation[1] = 9.0;
  update_quality(m, m.phase(0), st);
  CHECK(st.services.quality[2] - q0 == doctest::Approx(0.4 * (std::log(10.0) - std::log(1.5))));
}

TEST_CASE("market: fixed prices stay") {
  const Model m = build_model(scenario_from(kPricing, {{"firm.A.pricing", "fixed"}, {"firm.B.pricing", "fixed"}}));
  const State st = run_steps(m, 10);
  CHECK(st.services.price == std::vector<double>{1.0, 2.0, 3.0});
}

TEST_CASE("market: best_response moves the price toward c + 1/(alpha*(1-S_fs)) with S_fs the firm's share of the sector") {
  const Model m = build_model(scenario_from(kPricing));
  State st = initial_state(m, 1);
  const double alpha = 1.5, adj = 0.4;
  for (int t = 0; t < 3; ++t) {
    const std::vector<double> before = st.services.price;
    step(m, st);
    const auto& sv = st.services;
    // A's share counts both of its services; shares are of all N (outside included)
    const std::vector<double> firm_share{sv.share[0] + sv.share[1], sv.share[0] + sv.share[1], sv.share[2]};
    const std::vector<double> cost{0.5, 0.7, 0.4};
    for (int k = 0; k < 3; ++k) {
      CAPTURE(t);
      CAPTURE(k);
      const double target = cost[k] + 1.0 / (alpha * (1.0 - firm_share[k]));
      const double expected = std::max(cost[k], before[k] + adj * (target - before[k]));
      CHECK(sv.price[k] == doctest::Approx(expected).epsilon(1e-12));
      CHECK(std::abs(sv.price[k] - target) < std::abs(before[k] - target));
    }
  }
}

TEST_CASE("market: best_response never sets a price below marginal cost") {
  // starts below cost and moves slowly: p + 0.01*(target - p) < c, so the floor binds
  const Model m = build_model(scenario_from(kPricing, {{"firm.B.service.b.price", "0.1"},
                                                       {"firm.B.price_adjustment", "0.01"}}));
  State st = initial_state(m, 1);
  step(m, st);
  const double target = 0.4 + 1.0 / (1.5 * (1.0 - st.services.share[2]));
  CHECK(0.1 + 0.01 * (target - 0.1) < 0.4);  // the unclamped move stays below cost
  CHECK(st.services.price[2] == 0.4);
  for (int t = 0; t < 20; ++t) {
    step(m, st);
    for (int k = 0; k < 3; ++k) CHECK(st.services.price[k] >= m.service(m.scenario, k).marginal_cost);
  }
}

TEST_CASE("market: revenue is margin*share + ad_rate*data flow at the price paid this step") {
  const Model m = build_model(scenario_from(kMoney));
  State st = initial_state(m, 1);
  for (int t = 0; t < 2; ++t) {
    const std::vector<double> paid = st.services.price;  // prices move after the consumer pass
    step(m, st);
    const std::vector<double> cost{0.4, 0.5}, ad{0.2, 0.1};
    for (int k = 0; k < 2; ++k) {
      CAPTURE(k);
      const double expected = (paid[k] - cost[k]) * st.services.share[k] + ad[k] * st.services.data_flow[k];
      CHECK(st.services.revenue[k] == doctest::Approx(expected).epsilon(1e-12));
      CHECK(st.firms.revenue[k] == st.services.revenue[k]);
    }
    CHECK(st.services.price != paid);
  }
}

TEST_CASE("market: profit = revenue - compliance - fines - fees + dividends - fixed_cost") {
  const Model m = build_model(scenario_from(kMoney));
  State st = initial_state(m, 1);
  step(m, st);
  const auto& fm = st.firms;
  const std::vector<double> fixed{0.01, 0.02};
  // every term is in play in this step
  CHECK(fm.fines[0] > 0.0);
  CHECK(fm.fees[0] > 0.0);
  CHECK(fm.dividends[0] > 0.0);
  CHECK(fm.compliance[0] > 0.0);
  for (int f = 0; f < 2; ++f) {
    CAPTURE(f);
    CHECK(fm.compliance[f] == doctest::Approx(0.1 * fm.revenue[f]).epsilon(1e-12));
    const double expected = fm.revenue[f] - fm.compliance[f] - fm.fines[f] - fm.fees[f] + fm.dividends[f] - fixed[f];
    CHECK(fm.profit[f] == doctest::Approx(expected).epsilon(1e-12));
  }
}

TEST_CASE("market: compliance cost applies only while consent is not none") {
  const Model m = build_model(scenario_from(kMoney, {{"regulator.consent", "none"}}));
  const State st = run_steps(m, 2);
  const auto& fm = st.firms;
  for (int f = 0; f < 2; ++f) {
    CHECK(fm.compliance[f] == 0.0);
    CHECK(fm.profit[f] == doctest::Approx(fm.revenue[f] - fm.fines[f] - fm.fees[f] + fm.dividends[f] -
                                          m.scenario.firms[f].fixed_cost)
                              .epsilon(1e-12));
  }
  // and the same policy under opt_in charges it
  const State in = run_steps(build_model(scenario_from(kMoney, {{"regulator.consent", "opt_in"}})), 2);
  CHECK(in.firms.compliance[0] == doctest::Approx(0.1 * in.firms.revenue[0]).epsilon(1e-12));
}

TEST_CASE("market: innovation R_f = (1-dep)*R_f + rate*(1 - appropriability_loss*m_f)*max(profit, 0)") {
  const Model m = ecosystem();
  const Phase& ph = m.phase(0);
  State st = initial_state(m, 1);
  // direct: A (rate 0.2) with profit 1 and m = 0 or 0.8; B (rate 0.1) with a loss
  for (const double rate : {0.0, 0.8}) {
    CAPTURE(rate);
    st.firms.innovation = {1.5, 0.5, 0.0};
    st.firms.profit = {1.0, -2.0, 0.3};
    st.firms.contribution_rate = {rate, rate, 0.0};
    update_innovation(m, ph, st);
    CHECK(st.firms.innovation[0] == doctest::Approx(0.9 * 1.5 + 0.2 * (1 - 0.5 * rate) * 1.0).epsilon(1e-12));
    CHECK(st.firms.innovation[1] == doctest::Approx(0.9 * 0.5).epsilon(1e-12));  // no investment from a loss
    CHECK(st.firms.innovation[2] == doctest::Approx(0.1 * 0.3).epsilon(1e-12));
  }
  // in a run: a higher contribution rate (mandate) leaves less innovation capital
  auto innovation_after = [](const char* mandate) {
    const Model mm = ecosystem({{"jv.enabled", "true"},
                                {"jv.members", "{ A = 0.1, B = 0.1, C = 0.1 }"},
                                {"jv.access", "none"},
                                {"regulator.sharing_mandate", mandate}});
    State s = initial_state(mm, 1);
    std::vector<double> r = s.firms.innovation;
    step(mm, s);
    // check the update by hand from this step's profit and the rate in force
    for (int f = 0; f < mm.firms; ++f)
      CHECK(s.firms.innovation[f] ==
            doctest::Approx(0.9 * r[f] + mm.scenario.firms[f].innovation_rate *
                                             (1 - 0.5 * std::atof(mandate)) * std::max(s.firms.profit[f], 0.0))
                .epsilon(1e-12));
    return s.firms.innovation[0];
  };
  CHECK(innovation_after("0.8") < innovation_after("0.0"));
}

TEST_CASE("market: an entrant has no users before enter_at, some after, and entries counts it once") {
  const Model m = build_model(scenario_from(kEntry));
  State st = initial_state(m, 1);
  CHECK(st.services.active[2] == 0);
  CHECK(st.firms.active[2] == 0);
  int entries = 0;
  for (int t = 0; t < 20; ++t) {
    step(m, st);
    entries += st.totals.entries;
    CAPTURE(t);
    if (t < 5) {
      CHECK(st.services.users[2] == 0.0);
      CHECK(st.services.active[2] == 0);
      CHECK(st.totals.entries == 0);
    } else {
      CHECK(st.services.users[2] > 0.0);
      CHECK(st.services.active[2] == 1);
      CHECK(st.firms.active[2] == 1);
      CHECK(st.totals.entries == (t == 5 ? 1 : 0));
    }
  }
  CHECK(entries == 1);
}

TEST_CASE("market: a service below exit_share for exit_persistence steps exits and its users go outside") {
  const Model m = build_model(scenario_from(kExit));
  State st = initial_state(m, 1);
  const auto before = st.consumers.choice;
  const double users_c = st.services.users[2];
  REQUIRE(users_c > 0.0);
  REQUIRE(st.services.sector_share[2] < 0.05);
  int exits = 0;
  for (int t = 0; t < 3; ++t) {
    step(m, st);
    exits += st.totals.exits;
    CAPTURE(t);
    CHECK(st.services.users[2] == users_c);  // nobody revises
    CHECK(st.services.active[2] == (t < 2 ? 1 : 0));
    CHECK(st.totals.exits == (t == 2 ? 1 : 0));
  }
  CHECK(st.firms.active[2] == 0);
  step(m, st);  // the next consumer pass sends c's users to the outside option
  exits += st.totals.exits;
  CHECK(st.services.users[2] == 0.0);
  CHECK(exits == 1);
  std::int64_t moved_out = 0, others_changed = 0;
  for (std::uint32_t i = 0; i < m.consumers; ++i) {
    if (before[i] == 3) moved_out += st.consumers.choice[i] == 0;
    else others_changed += st.consumers.choice[i] != before[i];
  }
  CHECK(static_cast<double>(moved_out) == users_c);
  CHECK(others_changed == 0);
  // and nobody can choose it again
  for (int t = 0; t < 5; ++t) step(m, st);
  CHECK(st.services.users[2] == 0.0);
}

TEST_CASE("market: exit needs consecutive low-share steps") {
  // c is low for 2 steps, then we lift its share above exit_share: the count restarts
  const Model m = build_model(scenario_from(kExit));
  State st = initial_state(m, 1);
  step(m, st);
  step(m, st);
  CHECK(st.services.low_share_steps[2] == 2);
  st.services.sector_share[2] = 0.5;
  update_exits(m, m.phase(0), st);
  CHECK(st.services.low_share_steps[2] == 0);
  CHECK(st.services.active[2] == 1);
}

}  // namespace policysim::test
