#include "helpers.hpp"

#include <vector>

namespace policysim::test {
namespace {

// Two sectors; firm A is an ecosystem with a service in each, B and C one service each.
// Services in file order: a_shop (0, ecommerce), a_pay (1, payments), b_shop (2, ecommerce),
// c_pay (3, payments), c_pay2 (4, payments).
const char* kTwoSectors = R"(
[scenario]
name = "two-sectors"
steps = 60
[consumers]
count = 1000
[[sector]]
name = "ecommerce"
[[sector]]
name = "payments"
[[firm]]
name = "A"
  [[firm.service]]
  name = "a_shop"
  sector = "ecommerce"
  initial_share = 0.4
  [[firm.service]]
  name = "a_pay"
  sector = "payments"
  initial_share = 0.5
[[firm]]
name = "B"
  [[firm.service]]
  name = "b_shop"
  sector = "ecommerce"
  initial_share = 0.3
[[firm]]
name = "C"
  [[firm.service]]
  name = "c_pay"
  sector = "payments"
  initial_share = 0.2
  [[firm.service]]
  name = "c_pay2"
  sector = "payments"
  initial_share = 0.1
[jv]
members = { A = 0.2, C = 0.1 }
[[policy]]
at = 5
set = { "regulator.consent" = "opt_in" }
[[policy]]
at = 12
set = { "jv.enabled" = true }
[[policy]]
at = 12
set = { "regulator.sharing_mandate" = 0.4, "regulator.mandate_scope" = "all" }
[[policy]]
at = 40
set = { "regulator.consent" = "opt_out" }
)";

// The scenario run for 30 steps (as `--steps 30` does): the event at 40 falls past the end.
Model two_sectors() {
  Scenario s = scenario_from(kTwoSectors);
  s.scenario.steps = 30;
  return build_model(s);
}

}  // namespace

TEST_CASE("model: build_model indexes services by sector and firm for a two-sector scenario") {
  const Model m = two_sectors();
  CHECK(m.consumers == 1000u);
  CHECK(m.steps == 30);
  CHECK(m.sectors == 2);
  CHECK(m.firms == 3);
  CHECK(m.services == 5);
  CHECK(m.service_sector == std::vector<int>{0, 1, 0, 1, 1});
  CHECK(m.service_firm == std::vector<int>{0, 0, 1, 2, 2});
  CHECK(m.sector_services == std::vector<std::vector<int>>{{0, 2}, {1, 3, 4}});
  CHECK(m.firm_services == std::vector<std::vector<int>>{{0, 1}, {2}, {3, 4}});
  // choice codes: 1..K_s in file order within the sector, 0 being the outside option
  CHECK(m.service_option == std::vector<int>{1, 1, 2, 2, 3});
  CHECK(m.service_local == std::vector<int>{0, 1, 0, 0, 1});
  // ecommerce: outside + 2 services; payments: outside + 3 services
  CHECK(m.option_offset == std::vector<int>{0, 3, 7});
  CHECK(m.options == 7);
  // the accessors agree with the indices
  CHECK(m.service(m.scenario, 4).name == "c_pay2");
  CHECK(m.sector_of(m.scenario, 1).name == "payments");
  CHECK(m.firm_of(m.scenario, 2).name == "B");
}

TEST_CASE("model: phase() picks the phase in force, merging events of one step and dropping those past the end") {
  const Model m = two_sectors();
  REQUIRE(m.phases.size() == 3);
  CHECK(m.phases[0].start == 0);
  CHECK(m.phases[1].start == 5);
  CHECK(m.phases[2].start == 12);
  CHECK(m.skipped_policy_notes.size() == 1);  // at = 40 >= steps = 30

  CHECK(&m.phase(0) == &m.phases[0]);
  CHECK(&m.phase(4) == &m.phases[0]);
  CHECK(&m.phase(5) == &m.phases[1]);
  CHECK(&m.phase(11) == &m.phases[1]);
  CHECK(&m.phase(12) == &m.phases[2]);
  CHECK(&m.phase(29) == &m.phases[2]);
  CHECK(&m.phase(1000) == &m.phases[2]);

  CHECK(m.phase(0).params.regulator.consent == ConsentRegime::kNone);
  CHECK(m.phase(5).params.regulator.consent == ConsentRegime::kOptIn);
  CHECK_FALSE(m.phase(5).params.jv.enabled);
  // later phases carry the earlier events, and both events at 12 apply
  CHECK(m.phase(12).params.regulator.consent == ConsentRegime::kOptIn);
  CHECK(m.phase(12).params.jv.enabled);
  CHECK(m.phase(12).params.regulator.sharing_mandate == 0.4);
  // the event past the end never applies
  CHECK(m.phase(29).params.regulator.consent == ConsentRegime::kOptIn);
}

TEST_CASE("model: each phase derives shareholdings and the mandate scope") {
  const Model m = two_sectors();
  CHECK(m.phase(0).shareholding == std::vector<double>{0.2, 0.0, 0.1});
  // scope `members` before step 12: only shareholders take part
  CHECK(m.phase(0).participant == std::vector<std::uint8_t>{1, 0, 1});
  // scope `all` from step 12
  CHECK(m.phase(12).participant == std::vector<std::uint8_t>{1, 1, 1});
}

TEST_CASE("model: a policy event changes the rules from its step on in a run") {
  const Model m = two_sectors();
  State st = initial_state(m, 1);
  for (int t = 0; t < 12; ++t) step(m, st);
  // JV disabled until step 12: no contribution
  CHECK(st.firms.contribution_rate == std::vector<double>{0.0, 0.0, 0.0});
  CHECK(st.jv.data == 0.0);
  step(m, st);  // step 12: JV on, mandate 0.4 for all, applied before this step's contributions
  CHECK(st.firms.contribution_rate == std::vector<double>{0.4, 0.4, 0.4});
  CHECK(st.jv.data > 0.0);
}

}  // namespace policysim::test
