#include "helpers.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "jv.hpp"
#include "market.hpp"

namespace policysim::test {
namespace {

// A and B are shareholders, C is not, D enters only at step 100. Mandatory sharing at 0.4.
// Services: 0 a, 1 b, 2 c, 3 d.
const char* kJv = R"(
[scenario]
name = "jv"
seed = 13
[consumers]
count = 20000
revision_rate = 0.2
consent_revision_rate = 0.3
[[sector]]
name = "ecommerce"
data_intensity = 1.2
data_weight = 0.9
data_scale = 1.5
[[firm]]
name = "A"
  [[firm.service]]
  name = "a"
  sector = "ecommerce"
  initial_share = 0.4
  initial_data = 1.0
[[firm]]
name = "B"
  [[firm.service]]
  name = "b"
  sector = "ecommerce"
  initial_share = 0.3
  initial_data = 0.5
[[firm]]
name = "C"
  [[firm.service]]
  name = "c"
  sector = "ecommerce"
  initial_share = 0.2
[[firm]]
name = "D"
enter_at = 100
  [[firm.service]]
  name = "d"
  sector = "ecommerce"
[jv]
enabled = true
participation = "mandatory"
members = { A = 0.3, B = 0.2 }
state_share = 0.36
access = "members"
anonymization = 0.3
depreciation = 0.1
[regulator]
consent = "opt_out"
sharing_mandate = 0.4
)";

Model jv_model(const std::vector<Override>& overrides = {}) { return build_model(scenario_from(kJv, overrides)); }

// Two sectors, three members; A serves both. Voluntary participation.
// Services: 0 a_shop, 1 a_pay, 2 b_shop, 3 c_pay.
const char* kVoluntary = R"(
[scenario]
name = "voluntary"
seed = 2
[consumers]
count = 20000
revision_rate = 0.2
[[sector]]
name = "ecommerce"
[[sector]]
name = "payments"
[[firm]]
name = "A"
  [[firm.service]]
  name = "a_shop"
  sector = "ecommerce"
  initial_share = 0.6
  [[firm.service]]
  name = "a_pay"
  sector = "payments"
  initial_share = 0.5
[[firm]]
name = "B"
  [[firm.service]]
  name = "b_shop"
  sector = "ecommerce"
  initial_share = 0.2
[[firm]]
name = "C"
  [[firm.service]]
  name = "c_pay"
  sector = "payments"
  initial_share = 0.3
[jv]
enabled = true
participation = "voluntary"
members = { A = 0.2, B = 0.2, C = 0.2 }
voluntary_base = 0.4
voluntary_slope = 0.5
)";

// clamp(base + slope * mean over the firm's sectors of (mean rival sector share - own)).
std::vector<double> hand_voluntary(const Model& m, const State& st, double base, double slope) {
  std::vector<double> sum(m.firms, 0.0);
  std::vector<int> served(m.firms, 0);
  for (int s = 0; s < m.sectors; ++s) {
    std::vector<double> share(m.firms, 0.0);
    std::vector<bool> present(m.firms, false);
    for (int k : m.sector_services[s])
      if (st.services.active[k]) share[m.service_firm[k]] += st.services.sector_share[k], present[m.service_firm[k]] = true;
    for (int f = 0; f < m.firms; ++f) {
      if (!present[f]) continue;
      double rivals = 0;
      int count = 0;
      for (int g = 0; g < m.firms; ++g)
        if (g != f && present[g]) rivals += share[g], ++count;
      sum[f] += (count ? rivals / count : 0.0) - share[f];
      ++served[f];
    }
  }
  std::vector<double> rate(m.firms, 0.0);
  for (int f = 0; f < m.firms; ++f)
    if (served[f]) rate[f] = std::clamp(base + slope * sum[f] / served[f], 0.0, 1.0);
  return rate;
}

}  // namespace

TEST_CASE("jv: contribution X_k is m_f times the consented data flow, and firms keep their copy") {
  const Model m = jv_model();
  State st = initial_state(m, 1);
  CHECK(st.firms.contribution_rate == std::vector<double>{0.4, 0.4, 0.0, 0.0});
  for (int t = 0; t < 3; ++t) {
    const std::vector<double> rate = st.firms.contribution_rate, data = st.services.data;
    step(m, st);
    const auto& sv = st.services;
    for (int k = 0; k < m.services; ++k) {
      CAPTURE(t);
      CAPTURE(k);
      const int f = m.service_firm[k];
      CHECK(sv.contribution[k] == doctest::Approx(rate[f] * sv.consented_flow[k]).epsilon(1e-12));
      CHECK(st.firms.jv_contribution[f] == sv.contribution[k]);  // one service per firm
      // data is non-rival: the stock is not reduced by what was contributed
      const double expected = 0.95 * data[k] + sv.data_flow[k] + sv.ported[k];
      CHECK(sv.data[k] == doctest::Approx(expected).epsilon(1e-12));
    }
    // consent is below 1 after revisions, so the consented flow is below the flow
    CHECK(sv.consented_flow[0] < sv.data_flow[0]);
    CHECK(sv.contribution[0] > 0.0);
    CHECK(sv.contribution[2] == 0.0);  // C is not a shareholder: outside the `members` scope
  }
}

TEST_CASE("jv: pool inflow is (1-anonymization)*sum of contributions and D_JV depreciates at jv.depreciation") {
  const Model m = jv_model();
  State st = initial_state(m, 1);
  CHECK(st.jv.data == 0.0);
  for (int t = 0; t < 4; ++t) {
    const double before = st.jv.data;
    step(m, st);
    double contributed = 0;
    for (int k = 0; k < m.services; ++k) contributed += st.services.contribution[k];
    CAPTURE(t);
    CHECK(contributed > 0.0);
    CHECK(st.jv.inflow == doctest::Approx(0.7 * contributed).epsilon(1e-12));
    CHECK(st.jv.data == doctest::Approx(0.9 * before + st.jv.inflow).epsilon(1e-12));
  }
}

TEST_CASE("jv: access rules decide which firms add D_JV to their effective data") {
  const double pool = 4.0;
  // q gain from the pool: data_weight * (ln(1 + (D_k + D_JV)/scale) - ln(1 + D_k/scale))
  auto gains = [&](const std::vector<Override>& overrides) {
    const Model m = jv_model(overrides);
    State st = initial_state(m, 1);
    st.jv.data = 0.0;
    update_quality(m, m.phase(0), st);
    const std::vector<double> without = st.services.quality;
    st.jv.data = pool;
    update_quality(m, m.phase(0), st);
    std::vector<double> gain(m.services);
    for (int k = 0; k < m.services; ++k) {
      const double d = st.services.data[k];
      const double full = 0.9 * (std::log(1 + (d + pool) / 1.5) - std::log(1 + d / 1.5));
      const double g = st.services.quality[k] - without[k];
      CHECK((std::abs(g) < 1e-12 || std::abs(g - full) < 1e-12));
      gain[k] = g > 1e-12 ? 1.0 : 0.0;  // 1: has access
    }
    return gain;
  };
  CHECK(gains({{"jv.access", "members"}}) == std::vector<double>{1, 1, 0, 0});
  CHECK(gains({{"jv.access", "all"}}) == std::vector<double>{1, 1, 1, 1});
  CHECK(gains({{"jv.access", "licensed"}}) == std::vector<double>{1, 1, 1, 1});
  CHECK(gains({{"jv.access", "none"}}) == std::vector<double>{0, 0, 0, 0});
  CHECK(gains({{"jv.enabled", "false"}, {"jv.access", "all"}}) == std::vector<double>{0, 0, 0, 0});
}

TEST_CASE("jv: under licensed access each active firm pays access_fee*D_JV and members get shareholding*JV revenue") {
  const Model m = jv_model({{"jv.access", "licensed"}, {"jv.access_fee", "0.05"}});
  State st = initial_state(m, 1);
  for (int t = 0; t < 3; ++t) {
    step(m, st);
    const auto& fm = st.firms;
    CAPTURE(t);
    REQUIRE(st.jv.data > 0.0);
    const std::vector<double> fee{0.05 * st.jv.data, 0.05 * st.jv.data, 0.05 * st.jv.data, 0.0};  // D not yet in
    for (int f = 0; f < m.firms; ++f) CHECK(fm.fees[f] == doctest::Approx(fee[f]).epsilon(1e-12));
    CHECK(st.jv.revenue == doctest::Approx(3 * 0.05 * st.jv.data).epsilon(1e-12));
    CHECK(fm.dividends == std::vector<double>{0.3 * st.jv.revenue, 0.2 * st.jv.revenue, 0.0, 0.0});
    // the state keeps the rest: its share and the unallocated part
    CHECK(st.jv.state_income == doctest::Approx(st.jv.revenue * (1 - 0.3 - 0.2)).epsilon(1e-12));
  }
}

TEST_CASE("jv: access rules other than licensed charge no fees and pay no dividends") {
  for (const char* access : {"members", "all", "none"}) {
    CAPTURE(access);
    const State st = run_steps(jv_model({{"jv.access", access}, {"jv.access_fee", "0.05"}}), 2);
    CHECK(st.jv.data > 0.0);
    CHECK(st.jv.revenue == 0.0);
    for (int f = 0; f < 4; ++f) {
      CHECK(st.firms.fees[f] == 0.0);
      CHECK(st.firms.dividends[f] == 0.0);
    }
  }
}

TEST_CASE("jv: mandatory rates equal sharing_mandate within mandate_scope") {
  SUBCASE("scope members: shareholders only") {
    const State st = run_steps(jv_model({{"regulator.mandate_scope", "members"}}), 2);
    CHECK(st.firms.contribution_rate == std::vector<double>{0.4, 0.4, 0.0, 0.0});
  }
  SUBCASE("scope all: every firm") {
    const State st = run_steps(jv_model({{"regulator.mandate_scope", "all"}}), 2);
    CHECK(st.firms.contribution_rate == std::vector<double>{0.4, 0.4, 0.4, 0.4});
    CHECK(st.services.contribution[2] > 0.0);  // C now contributes
  }
}

TEST_CASE("jv: voluntary rates are clamp(base + slope*(mean rival share - own share)) and the largest firm contributes least") {
  const Model m = build_model(scenario_from(kVoluntary));
  State st = initial_state(m, 1);
  for (int t = 0; t < 3; ++t) {
    const auto expected = hand_voluntary(m, st, 0.4, 0.5);
    CAPTURE(t);
    for (int f = 0; f < m.firms; ++f) CHECK(st.firms.contribution_rate[f] == doctest::Approx(expected[f]).epsilon(1e-12));
    step(m, st);
  }
  // A leads both sectors: the lowest rate
  const auto& r = st.firms.contribution_rate;
  CHECK(r[0] < r[1]);
  CHECK(r[0] < r[2]);
  // B (ecommerce only, sector shares ~0.75 A / 0.25 B): 0.4 + 0.5*(s_A - s_B), above base;
  // A: 0.4 + 0.5*mean((s_B - s_A), (s_C - s_A)), below it
  CHECK(r[1] > 0.4);
  CHECK(r[0] < 0.4);
  CHECK(r[0] > 0.0);  // not clamped: the formula, not the bound, set it
}

TEST_CASE("jv: voluntary rates are clamped to [0, 1]") {
  const Model m = build_model(scenario_from(kVoluntary, {{"jv.voluntary_slope", "5.0"}}));
  const State st = run_steps(m, 1);
  const auto expected = hand_voluntary(m, st, 0.4, 5.0);
  for (int f = 0; f < m.firms; ++f) CHECK(st.firms.contribution_rate[f] == doctest::Approx(expected[f]).epsilon(1e-12));
  CHECK(st.firms.contribution_rate[0] == 0.0);  // 0.4 + 5*(~-0.375) < 0
  CHECK(st.firms.contribution_rate[1] == 1.0);  // 0.4 + 5*(~0.5) > 1
}

TEST_CASE("jv: a disabled JV gives every rate 0, whatever the mandate or remedy, and gets no data") {
  const Model m = jv_model({{"jv.enabled", "false"},
                            {"regulator.mandate_scope", "all"},
                            {"regulator.antitrust.remedy_mandate", "0.5"}});
  State st = initial_state(m, 1);
  std::fill(st.firms.remedy.begin(), st.firms.remedy.end(), std::uint8_t{1});
  for (int t = 0; t < 3; ++t) step(m, st);
  CHECK(st.firms.contribution_rate == std::vector<double>{0.0, 0.0, 0.0, 0.0});
  CHECK(st.services.contribution == std::vector<double>{0.0, 0.0, 0.0, 0.0});
  CHECK(st.jv.data == 0.0);
  // voluntary participation too
  const State v = run_steps(build_model(scenario_from(kVoluntary, {{"jv.enabled", "false"}})), 2);
  CHECK(v.firms.contribution_rate == std::vector<double>{0.0, 0.0, 0.0});
}

}  // namespace policysim::test
