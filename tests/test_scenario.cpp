// Scenario files (MODEL.md section 5) and the command line that reads them (section 6):
// defaults, one clear error per kind of bad input, `--set`, the `validate` round trip and the
// policy timeline.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "policysim/errors.hpp"
#include "policysim/model.hpp"
#include "policysim/version.hpp"

namespace policysim::test {
namespace {

// "inline.toml:LINE:COL: " of the first `target` at or after the `nth` occurrence of `context`
// in `text` (of `context` itself when `target` is empty): where an error about it must point.
std::string loc(const std::string& text, const std::string& context, const std::string& target = "",
                int nth = 1, const std::string& file = "inline.toml") {
  auto c = text.find(context);
  for (int i = 1; i < nth && c != std::string::npos; ++i) c = text.find(context, c + 1);
  REQUIRE_MESSAGE(c != std::string::npos, "context not in the text: " << context);
  const auto p = target.empty() ? c : text.find(target, c);
  REQUIRE_MESSAGE(p != std::string::npos, "target not in the text: " << target);
  const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(p), '\n');
  const auto line_start = p == 0 ? std::string::npos : text.rfind('\n', p - 1);
  const auto col = line_start == std::string::npos ? p + 1 : p - line_start;
  return fmt::format("{}:{}:{}: ", file, line, col);
}

// `text` with its only occurrence of `from` replaced by `to`.
std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, "not in the text: " << from);
  REQUIRE_MESSAGE(text.find(from, at + 1) == std::string::npos, "more than once in the text: " << from);
  return text.replace(at, from.size(), to);
}

// The message of the InputError that `f` throws ("" when it throws none).
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// `expr` throws InputError whose message starts with `start` (the location) and contains each
// further string (the key path, what is allowed, the suggestion).
#define CHECK_INPUT_ERROR(expr, start, ...)                                          \
  do {                                                                               \
    const std::string start_ = (start);                                              \
    CHECK_THROWS_WITH_AS(expr, doctest::Contains(start_.c_str()), InputError);       \
    const std::string message_ = input_error([&] { (void)(expr); });                 \
    INFO("message: " << message_);                                                   \
    CHECK(message_.rfind(start_, 0) == 0);                                           \
    for (const std::string& part_ : std::vector<std::string>{__VA_ARGS__})           \
      CHECK_THROWS_WITH_AS(expr, doctest::Contains(part_.c_str()), InputError);      \
  } while (0)

// ---------------------------------------------------------------------------------------------
// Defaults

TEST_CASE("scenario: a minimal scenario loads with every default of MODEL.md section 5") {
  const Scenario s = scenario_from(R"(
[scenario]
name = "minimal"
[[sector]]
name = "ecommerce"
[[firm]]
name = "A"
  [[firm.service]]
  name = "a"
  sector = "ecommerce"
)");
  CHECK(s.source == "inline.toml");

  CHECK(s.scenario.name == "minimal");
  CHECK(s.scenario.description == "");
  CHECK(s.scenario.steps == 120);
  CHECK(s.scenario.seed == 1);
  CHECK(s.scenario.replications == 1);

  CHECK(s.consumers.count == 100000);
  CHECK(s.consumers.revision_rate == 0.1);
  CHECK(s.consumers.consent_revision_rate == 0.05);
  CHECK(s.consumers.price_sensitivity == 1.0);
  CHECK(s.consumers.quality_weight == 1.0);
  CHECK(s.consumers.switching_cost == 0.5);
  CHECK(s.consumers.peer_weight == 0.0);
  CHECK(s.consumers.privacy_sensitivity.kind == DistKind::kBeta);
  CHECK(s.consumers.privacy_sensitivity.param[0] == 2.0);  // a
  CHECK(s.consumers.privacy_sensitivity.param[1] == 5.0);  // b
  CHECK(s.consumers.privacy_sensitivity.param[2] == 2.0);  // scale
  CHECK(s.consumers.activity.kind == DistKind::kLognormal);
  CHECK(s.consumers.activity.param[0] == -0.125);  // mu
  CHECK(s.consumers.activity.param[1] == 0.5);     // sigma
  CHECK(s.consumers.initial_trust == 0.7);

  CHECK(s.consent.trust_weight == 2.0);
  CHECK(s.consent.benefit == 0.0);
  CHECK(s.consent.default_bias == 2.0);

  CHECK(s.network.kind == NetworkKind::kNone);
  CHECK(s.network.degree == 10);
  CHECK(s.network.rewire == 0.1);

  CHECK(s.market.cross_sector_spillover == 0.3);
  CHECK(s.market.innovation_depreciation == 0.05);
  CHECK(s.market.appropriability_loss == 0.5);
  CHECK(s.market.exit_share == 0.01);
  CHECK(s.market.exit_persistence == 12);

  REQUIRE(s.sectors.size() == 1);
  const Sector& sec = s.sectors[0];
  CHECK(sec.name == "ecommerce");
  CHECK(sec.data_intensity == 1.0);
  CHECK(sec.outside_utility == 0.0);
  CHECK(sec.data_returns == DataReturns::kLog);
  CHECK(sec.data_weight == 1.0);
  CHECK(sec.data_scale == 1.0);
  CHECK(sec.data_exponent == 0.5);
  CHECK(sec.innovation_weight == 0.5);
  CHECK(sec.depreciation == 0.05);

  REQUIRE(s.firms.size() == 1);
  const Firm& f = s.firms[0];
  CHECK(f.name == "A");
  CHECK(f.enter_at == 0);
  CHECK(f.pricing == Pricing::kBestResponse);
  CHECK(f.price_adjustment == 0.2);
  CHECK(f.innovation_rate == 0.1);
  CHECK(f.initial_innovation == 0.0);
  CHECK(f.fixed_cost == 0.0);
  REQUIRE(f.services.size() == 1);
  const Service& svc = f.services[0];
  CHECK(svc.name == "a");
  CHECK(svc.sector == "ecommerce");
  CHECK(svc.base_quality == 1.0);
  CHECK(svc.price == 1.0);
  CHECK(svc.marginal_cost == 0.5);
  CHECK(svc.extraction == 0.2);
  CHECK(svc.ad_rate == 0.1);
  CHECK(svc.initial_share == 0.0);  // the 0.4 in MODEL.md is Taobao's example value
  CHECK(svc.initial_data == 0.0);

  CHECK(s.jv.enabled == false);
  CHECK(s.jv.participation == Participation::kMandatory);
  CHECK(s.jv.members.shares.empty());
  CHECK(s.jv.state_share == 0.36);
  CHECK(s.jv.regulator_control == 0.5);
  CHECK(s.jv.access == Access::kMembers);
  CHECK(s.jv.access_fee == 0.0);
  CHECK(s.jv.anonymization == 0.3);
  CHECK(s.jv.depreciation == 0.05);
  CHECK(s.jv.reid_risk == 0.5);
  CHECK(s.jv.surveillance_weight == 1.0);
  CHECK(s.jv.voluntary_base == 0.1);
  CHECK(s.jv.voluntary_slope == 1.0);

  CHECK(s.regulator.consent == ConsentRegime::kNone);
  CHECK(s.regulator.sharing_mandate == 0.0);
  CHECK(s.regulator.mandate_scope == MandateScope::kMembers);
  CHECK(s.regulator.compliance_cost == 0.0);
  CHECK(s.regulator.portability == 0.0);
  CHECK(s.regulator.siloing == false);

  CHECK(s.regulator.antitrust.enabled == false);
  CHECK(s.regulator.antitrust.share_threshold == 0.5);
  CHECK(s.regulator.antitrust.persistence == 6);
  CHECK(s.regulator.antitrust.fine_rate == 0.04);
  CHECK(s.regulator.antitrust.remedy_mandate == 0.0);
  CHECK(s.regulator.antitrust.cooldown == 24);

  CHECK(s.regulator.breach.base_rate == 0.0);
  CHECK(s.regulator.breach.trust_shock == 0.2);
  CHECK(s.regulator.breach.trust_recovery == 0.02);

  CHECK(s.policies.empty());
}

TEST_CASE("scenario: a distribution reads the parameters of its kind, by name") {
  const Scenario s = scenario_from(replace(kTwoFirms, "count = 5000", R"(count = 5000
privacy_sensitivity = { dist = "uniform", low = 0.5, high = 1.5 }
activity = { dist = "normal", mean = 1.0, sd = 0.25 })"));
  CHECK(s.consumers.privacy_sensitivity.kind == DistKind::kUniform);
  CHECK(s.consumers.privacy_sensitivity.param[0] == 0.5);
  CHECK(s.consumers.privacy_sensitivity.param[1] == 1.5);
  CHECK(s.consumers.activity.kind == DistKind::kNormal);
  CHECK(s.consumers.activity.param[0] == 1.0);
  CHECK(s.consumers.activity.param[1] == 0.25);
}

// ---------------------------------------------------------------------------------------------
// Bad input: one clear error per kind

TEST_CASE("scenario: malformed TOML is an error at its line and column") {
  const std::string text = "[scenario]\nname = \"x\"\nsteps = = 3\n";
  CHECK_INPUT_ERROR(scenario_from(text), loc(text, "steps = = 3", "= 3"), "malformed TOML");
}

TEST_CASE("scenario: unknown key suggests the closest known key") {
  SUBCASE("at the top level") {
    const std::string text = std::string(kTwoFirms) + "[consumer]\ncount = 5\n";
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "[consumer]"),
                      "scenario file: unknown key 'consumer' (did you mean 'consumers'?)",
                      "known keys here: scenario, consumers, consent, network, market, sector, firm, jv, "
                      "regulator, policy");
  }
  SUBCASE("in a table") {
    const std::string text = replace(kTwoFirms, "count = 5000", "count = 5000\nrevision_rat = 0.2");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "revision_rat = 0.2", "0.2"),
                      "consumers: unknown key 'revision_rat' (did you mean 'revision_rate'?)",
                      "known keys here: count, revision_rate,");
  }
  SUBCASE("in an array entry") {
    const std::string text = replace(kTwoFirms, "initial_share = 0.5", "initial_share = 0.5\n  pricee = 2.0");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "pricee = 2.0", "2.0"),
                      "firm.A.service.a: unknown key 'pricee' (did you mean 'price'?)",
                      "known keys here: name, sector, base_quality, price,");
  }
  SUBCASE("in a distribution") {
    const std::string text = replace(kTwoFirms, "count = 5000",
                                     "count = 5000\nprivacy_sensitivity = { dist = \"beta\", a = 2.0, b = 5.0, "
                                     "scael = 3.0 }");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "scael = 3.0", "3.0"),
                      "consumers.privacy_sensitivity: unknown key 'scael' (did you mean 'scale'?)",
                      "known keys here: dist, a, b, scale");
  }
  SUBCASE("with no suggestion when no known key is close") {
    const std::string text = std::string(kTwoFirms) + "[market]\nzzzzzzzz = 1\n";
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "zzzzzzzz = 1", "1"),
                      "market: unknown key 'zzzzzzzz'; known keys here: cross_sector_spillover,");
  }
}

TEST_CASE("scenario: a value of the wrong type names the type expected") {
  SUBCASE("a string for a number") {
    const std::string text = std::string(kTwoFirms) + "[market]\nexit_share = \"0.1\"\n";
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "exit_share = \"0.1\"", "\"0.1\""),
                      "market.exit_share: expected a number, got a string");
  }
  SUBCASE("a float for an integer") {
    const std::string text = replace(kTwoFirms, "count = 5000", "count = 5000.5");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "count = 5000.5", "5000.5"),
                      "consumers.count: expected an integer, got a number");
  }
  SUBCASE("a number for a boolean") {
    const std::string text = std::string(kTwoFirms) + "[jv]\nenabled = 1\n";
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "enabled = 1", "1"),
                      "jv.enabled: expected true or false, got an integer");
  }
}

TEST_CASE("scenario: an enum value not allowed lists the allowed values") {
  SUBCASE("in a table") {
    const std::string text = std::string(kTwoFirms) + "[network]\nkind = \"ring\"\n";
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "kind = \"ring\"", "\"ring\""),
                      "network.kind: 'ring' is not allowed: must be one of none, watts_strogatz, barabasi_albert");
  }
  SUBCASE("in an array entry") {
    const std::string text = replace(kTwoFirms, "name = \"B\"", "name = \"B\"\npricing = \"auction\"");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "pricing = \"auction\"", "\"auction\""),
                      "firm.B.pricing: 'auction' is not allowed: must be one of fixed, best_response");
  }
}

TEST_CASE("scenario: a value out of range names the allowed range") {
  SUBCASE("a probability above 1") {
    const std::string text = replace(kTwoFirms, "count = 5000", "count = 5000\nrevision_rate = 1.5");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "revision_rate = 1.5", "1.5"),
                      "consumers.revision_rate: 1.5 is out of range: must be in [0, 1]");
  }
  SUBCASE("a negative count") {
    const std::string text = replace(kTwoFirms, "count = 5000", "count = -5");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "count = -5", "-5"),
                      "consumers.count: -5 is out of range: must be an integer in [1, 4294967295]");
  }
  SUBCASE("zero steps") {
    const std::string text = replace(kTwoFirms, "steps = 20", "steps = 0");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "steps = 0", "0"),
                      "scenario.steps: 0 is out of range: must be an integer in [1, 4294967295]");
  }
  SUBCASE("a beta distribution with a <= 0") {
    const std::string text = replace(kTwoFirms, "count = 5000",
                                     "count = 5000\nprivacy_sensitivity = { dist = \"beta\", a = 0.0, b = 5.0 }");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "privacy_sensitivity = {", "{"),
                      "consumers.privacy_sensitivity: beta distribution needs a > 0, b > 0 and scale > 0");
  }
  SUBCASE("a uniform distribution with low > high") {
    const std::string text = replace(kTwoFirms, "count = 5000",
                                     "count = 5000\nactivity = { dist = \"uniform\", low = 2.0, high = 1.0 }");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "activity = {", "{"),
                      "consumers.activity: uniform distribution needs low <= high");
  }
  SUBCASE("a number that is not finite") {
    const std::string text = replace(kTwoFirms, "count = 5000", "count = 5000\nquality_weight = nan");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "quality_weight = nan", "nan"),
                      "consumers.quality_weight: nan is out of range: must be a finite number");
  }
}

TEST_CASE("scenario: shareholdings plus state_share over 1 are an error") {
  SUBCASE("the sum") {
    const std::string text = std::string(kTwoFirms) + "[jv]\nstate_share = 0.5\nmembers = { A = 0.25, B = 0.5 }\n";
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "members = {", "{"),
                      "jv.members: shareholdings plus state_share sum to 1.25 > 1");
  }
  SUBCASE("one shareholding") {
    const std::string text = std::string(kTwoFirms) + "[jv]\nmembers = { A = 1.5 }\n";
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "A = 1.5", "1.5"),
                      "jv.members.A: 1.5 is out of range: must be in [0, 1]");
  }
  SUBCASE("a sum of exactly 1 is allowed") {
    const Scenario s =
        scenario_from(std::string(kTwoFirms) + "[jv]\nstate_share = 0.5\nmembers = { B = 0.25, A = 0.25 }\n");
    // By name: a toml table iterates its keys sorted, so the file order is not kept.
    using Shares = std::vector<std::pair<std::string, double>>;
    CHECK(s.jv.members.shares == Shares{{"A", 0.25}, {"B", 0.25}});
  }
}

TEST_CASE("scenario: references to firms and sectors that do not exist are errors") {
  const std::string two = R"(
[scenario]
name = "refs"
[[sector]]
name = "ecommerce"
[[firm]]
name = "Alibaba"
  [[firm.service]]
  name = "Taobao"
  sector = "ecommerce"
[[firm]]
name = "Tencent"
  [[firm.service]]
  name = "WeChat"
  sector = "ecommerce"
)";
  SUBCASE("jv.members naming a firm that does not exist") {
    const std::string text = two + "[jv]\nmembers = { Alibaba = 0.1, Alibab = 0.2 }\n";
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "Alibab = 0.2", "0.2"),
                      "jv.members.Alibab: no firm named 'Alibab' (did you mean 'Alibaba'?); firms: Alibaba, Tencent");
  }
  SUBCASE("a service whose sector does not exist") {
    const std::string text = replace(two, "name = \"WeChat\"\n  sector = \"ecommerce\"",
                                     "name = \"WeChat\"\n  sector = \"ecomerce\"");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "sector = \"ecomerce\"", "\"ecomerce\""),
                      "firm.Tencent.service.WeChat.sector: no sector named 'ecomerce' (did you mean 'ecommerce'?); "
                      "sectors: ecommerce");
  }
}


TEST_CASE("scenario: duplicate names are errors") {
  SUBCASE("two sectors") {
    const std::string text = replace(kTwoFirms, "[[sector]]\nname = \"ecommerce\"",
                                     "[[sector]]\nname = \"ecommerce\"\n[[sector]]\nname = \"ecommerce\"");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "name = \"ecommerce\"", "\"ecommerce\"", 2),
                      "sector.name: 'ecommerce' is defined twice");
  }
  SUBCASE("two firms") {
    const std::string text = replace(kTwoFirms, "name = \"B\"", "name = \"A\"");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "name = \"A\"", "\"A\"", 2), "firm.name: 'A' is defined twice");
  }
  SUBCASE("two services of one firm") {
    const std::string text = replace(kTwoFirms, "  initial_share = 0.5\n",
                                     "  initial_share = 0.25\n  [[firm.service]]\n  name = \"a\"\n  sector = "
                                     "\"ecommerce\"\n");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "name = \"a\"", "\"a\"", 2),
                      "firm.A.service.name: 'a' is defined twice");
  }
  SUBCASE("services of two firms") {
    const std::string text = replace(kTwoFirms, "name = \"b\"", "name = \"a\"");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "[[firm.service]]", "", 2),
                      "firm.B.service.a: service name 'a' is used twice (service names are unique)");
  }
}

TEST_CASE("scenario: a scenario without a name, a sector, a firm or a firm's service is an error") {
  SUBCASE("scenario.name, with a [scenario] table") {
    const std::string text = replace(kTwoFirms, "name = \"two-firms\"\n", "");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "[scenario]"), "scenario.name: is required");
  }
  SUBCASE("scenario.name, without a [scenario] table") {
    const std::string text = replace(kTwoFirms, "[scenario]\nname = \"two-firms\"\nsteps = 20\n", "");
    CHECK_INPUT_ERROR(scenario_from(text), "inline.toml: scenario.name: is required");
  }
  SUBCASE("no sector") {
    const std::string text = replace(kTwoFirms, "[[sector]]\nname = \"ecommerce\"\n", "");
    CHECK_INPUT_ERROR(scenario_from(text), "inline.toml: sector: at least one [[sector]] is required");
  }
  SUBCASE("no firm") {
    const std::string text = "[scenario]\nname = \"x\"\n[[sector]]\nname = \"ecommerce\"\n";
    CHECK_INPUT_ERROR(scenario_from(text), "inline.toml: firm: at least one [[firm]] is required");
  }
  SUBCASE("a firm with no service") {
    const std::string text = std::string(kTwoFirms) + "[[firm]]\nname = \"C\"\n";
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "[[firm]]\nname = \"C\""),
                      "firm.C: needs at least one [[firm.service]]");
  }
}

TEST_CASE("scenario: initial_share summing over 1 within a sector is an error") {
  SUBCASE("over 1") {
    const std::string text = replace(kTwoFirms, "initial_share = 0.3", "initial_share = 0.75");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "[[sector]]"),
                      "sector.ecommerce: initial_share of its services sums to 1.25 > 1");
  }
  SUBCASE("exactly 1 in each of two sectors is allowed: the sum is per sector") {
    std::string text = replace(kTwoFirms, "initial_share = 0.3", "initial_share = 0.5");
    text = replace(text, "[[firm]]\nname = \"A\"", "[[sector]]\nname = \"payments\"\n[[firm]]\nname = \"A\"");
    text += "  [[firm.service]]\n  name = \"pay\"\n  sector = \"payments\"\n  initial_share = 1.0\n";
    const Scenario s = scenario_from(text);
    CHECK(s.firms[1].services[1].initial_share == 1.0);
  }
}

TEST_CASE("scenario: an odd network degree is an error") {
  const std::string text = std::string(kTwoFirms) + "[network]\nkind = \"watts_strogatz\"\ndegree = 3\n";
  CHECK_INPUT_ERROR(scenario_from(text), loc(text, "degree = 3", "3"), "network.degree: 3 must be even");
  CHECK_NOTHROW(scenario_from(replace(text, "degree = 3", "degree = 4")));
}

TEST_CASE("scenario: a [[policy]] event is checked when the file is read") {
  const auto with_policy = [](const std::string& at, const std::string& set) {
    return std::string(kTwoFirms) + "[[policy]]\nat = " + at + "\nset = { " + set + " }\n";
  };
  SUBCASE("a path that is not runtime-mutable: consumers.count") {
    const std::string text = with_policy("5", "\"consumers.count\" = 10");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "\"consumers.count\" = 10", "10"),
                      "consumers.count: cannot be changed by a [[policy]] event");
  }
  SUBCASE("a path that is not runtime-mutable: network.kind") {
    const std::string text = with_policy("5", "\"regulator.consent\" = \"opt_in\", \"network.kind\" = \"none\"");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "\"network.kind\" = \"none\"", "\"none\""),
                      "network.kind: cannot be changed by a [[policy]] event");
  }
  SUBCASE("a path that does not exist") {
    const std::string text = with_policy("5", "\"regulator.consnet\" = \"opt_in\"");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "\"regulator.consnet\" = \"opt_in\"", "\"opt_in\""),
                      "regulator: unknown key 'consnet' (did you mean 'consent'?)");
  }
  SUBCASE("an array entry that does not exist") {
    const std::string text = with_policy("5", "\"firm.C.pricing\" = \"fixed\"");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "\"firm.C.pricing\" = \"fixed\"", "\"fixed\""),
                      "firm: no entry named 'C'", "entries: A, B");
  }
  SUBCASE("a value of the wrong type") {
    const std::string text = with_policy("5", "\"jv.enabled\" = 1");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "\"jv.enabled\" = 1", "1"),
                      "jv.enabled: expected true or false, got an integer");
  }
  SUBCASE("a value out of range") {
    const std::string text = with_policy("5", "\"regulator.sharing_mandate\" = 1.5");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "\"regulator.sharing_mandate\" = 1.5", "1.5"),
                      "regulator.sharing_mandate: 1.5 is out of range: must be in [0, 1]");
  }
  SUBCASE("an `at` not below scenario.steps") {
    const std::string text = with_policy("20", "\"jv.enabled\" = true");
    CHECK_INPUT_ERROR(scenario_from(text), loc(text, "at = 20", "20"),
                      "policy.at: 20 is past the run: must be below scenario.steps (20)");
    const Scenario s = scenario_from(with_policy("19", "\"jv.enabled\" = true"));
    REQUIRE(s.policies.size() == 1);
    CHECK(s.policies[0].at == 19);
  }
}

// ---------------------------------------------------------------------------------------------
// --set PATH=VALUE

TEST_CASE("scenario: --set overrides a key by its dotted path") {
  SUBCASE("a number") {
    const Scenario s = scenario_from(kTwoFirms, {{"consumers.count", "2000"}, {"jv.state_share", "0.25"}});
    CHECK(s.consumers.count == 2000);
    CHECK(s.jv.state_share == 0.25);
  }
  SUBCASE("a bare word, as a string") {
    const Scenario s = scenario_from(kTwoFirms, {{"regulator.consent", "opt_in"}, {"scenario.name", "renamed"}});
    CHECK(s.regulator.consent == ConsentRegime::kOptIn);
    CHECK(s.scenario.name == "renamed");
  }
  SUBCASE("a quoted string") {
    const Scenario s = scenario_from(kTwoFirms, {{"scenario.description", "\"two words\""}});
    CHECK(s.scenario.description == "two words");
  }
  SUBCASE("a boolean") {
    const Scenario s = scenario_from(kTwoFirms, {{"jv.enabled", "true"}, {"regulator.antitrust.enabled", "true"}});
    CHECK(s.jv.enabled);
    CHECK(s.regulator.antitrust.enabled);
  }
  SUBCASE("an array entry addressed by name") {
    const Scenario s = scenario_from(kTwoFirms, {{"firm.A.service.a.price", "2.5"}, {"firm.B.pricing", "fixed"}});
    CHECK(s.firms[0].services[0].price == 2.5);
    CHECK(s.firms[1].services[0].price == 1.0);
    CHECK(s.firms[0].pricing == Pricing::kBestResponse);
    CHECK(s.firms[1].pricing == Pricing::kFixed);
  }
  SUBCASE("an inline table") {
    const Scenario s = scenario_from(kTwoFirms, {{"consumers.privacy_sensitivity", "{dist=\"constant\", value=0}"},
                                                 {"jv.members", "{ B = 0.5 }"}});
    CHECK(s.consumers.privacy_sensitivity.kind == DistKind::kConstant);
    CHECK(s.consumers.privacy_sensitivity.param[0] == 0.0);
    REQUIRE(s.jv.members.shares.size() == 1);
    CHECK(s.jv.members.shares[0] == std::pair<std::string, double>{"B", 0.5});
  }
  SUBCASE("the last --set of a key wins") {
    const Scenario s = scenario_from(kTwoFirms, {{"scenario.seed", "5"}, {"scenario.seed", "9"}});
    CHECK(s.scenario.seed == 9);
  }
  SUBCASE("a --set can supply what the file lacks") {
    const std::string text = replace(kTwoFirms, "name = \"two-firms\"\n", "");
    CHECK(scenario_from(text, {{"scenario.name", "given"}}).scenario.name == "given");
  }
}

TEST_CASE("scenario: a bad --set is an error that starts with --set PATH=VALUE") {
  SUBCASE("an unknown path, with a suggestion") {
    CHECK_INPUT_ERROR(scenario_from(kTwoFirms, {{"regulator.consnet", "opt_in"}}), "--set regulator.consnet=opt_in: ",
                      "regulator: unknown key 'consnet' (did you mean 'consent'?)");
    CHECK_INPUT_ERROR(scenario_from(kTwoFirms, {{"regulatr.consent", "opt_in"}}), "--set regulatr.consent=opt_in: ",
                      "unknown key 'regulatr' (did you mean 'regulator'?)");
  }
  SUBCASE("an unknown entry name") {
    CHECK_INPUT_ERROR(scenario_from(kTwoFirms, {{"firm.Nope.pricing", "fixed"}}), "--set firm.Nope.pricing=fixed: ",
                      "firm: no entry named 'Nope'; entries: A, B");
  }
  SUBCASE("a value out of range") {
    CHECK_INPUT_ERROR(scenario_from(kTwoFirms, {{"consumers.revision_rate", "1.5"}}),
                      "--set consumers.revision_rate=1.5: ",
                      "consumers.revision_rate: 1.5 is out of range: must be in [0, 1]");
  }
  SUBCASE("a value of the wrong type") {
    CHECK_INPUT_ERROR(scenario_from(kTwoFirms, {{"jv.enabled", "yes"}}), "--set jv.enabled=yes: ",
                      "jv.enabled: expected true or false, got a string");
  }
  SUBCASE("a value that is not TOML and not a bare word") {
    CHECK_INPUT_ERROR(scenario_from(kTwoFirms, {{"scenario.name", "\"unterminated"}}),
                      "--set scenario.name=\"unterminated: ", "scenario.name: cannot read the value as TOML");
  }
  SUBCASE("a value that breaks a check across keys") {
    CHECK_INPUT_ERROR(scenario_from(kTwoFirms, {{"firm.B.service.b.sector", "payments"}}),
                      "--set firm.B.service.b.sector=payments: ",
                      "firm.B.service.b.sector: no sector named 'payments'");
    CHECK_INPUT_ERROR(scenario_from(kTwoFirms, {{"jv.members", "{ C = 0.1 }"}}), "--set jv.members={ C = 0.1 }: ",
                      "jv.members.C: no firm named 'C'");
    CHECK_INPUT_ERROR(scenario_from(kTwoFirms, {{"network.kind", "barabasi_albert"}, {"network.degree", "5"}}),
                      "--set network.degree=5: ", "network.degree: 5 must be even");
  }
}

// ---------------------------------------------------------------------------------------------
// Printing (`validate`)

namespace {

// A scenario with every table, two sectors, an ecosystem firm, a late entrant whose name needs
// quoting, a distribution of each table form, JV members and two policy events.
const char* kFull = R"(
[scenario]
name = "full"
description = "quotes \" and \\ backslash, tab\t, newline\n, del \u007F, \u00e9"
steps = 48
seed = 7
replications = 2

[consumers]
count = 20000
revision_rate = 0.15
privacy_sensitivity = { dist = "beta", a = 1.5, b = 4.0, scale = 3.0 }
activity = { dist = "uniform", low = 0.25, high = 1.75 }
initial_trust = 0.6

[consent]
trust_weight = 1.5
benefit = -0.25

[network]
kind = "watts_strogatz"
degree = 8
rewire = 0.05

[market]
cross_sector_spillover = 0.2
exit_persistence = 6

[[sector]]
name = "ecommerce"
data_returns = "saturating"
data_scale = 1e-7

[[sector]]
name = "payments"
data_intensity = 1.5
outside_utility = -1.0
data_returns = "power"
data_exponent = 0.3

[[firm]]
name = "Alibaba"
pricing = "fixed"
fixed_cost = 0.01
  [[firm.service]]
  name = "Taobao"
  sector = "ecommerce"
  initial_share = 0.4
  [[firm.service]]
  name = "Alipay"
  sector = "payments"
  initial_share = 0.55
  initial_data = 2.5

[[firm]]
name = "Ant Group"
enter_at = 12
  [[firm.service]]
  name = "Huabei"
  sector = "payments"
  price = 0.8

[jv]
enabled = true
participation = "voluntary"
members = { Alibaba = 0.08, "Ant Group" = 0.1 }
access = "licensed"
access_fee = 0.02

[regulator]
consent = "opt_in"
sharing_mandate = 0.1
mandate_scope = "all"
portability = 0.5
siloing = true

[regulator.antitrust]
enabled = true
share_threshold = 0.6
cooldown = 12

[regulator.breach]
base_rate = 0.001
trust_shock = 0.3

[[policy]]
at = 24
set = { "regulator.consent" = "opt_out", "jv.enabled" = false, "jv.members" = { Alibaba = 0.1 }, "regulator.antitrust.persistence" = 3 }

[[policy]]
at = 12
set = { "firm.Ant Group.pricing" = "fixed" }
)";

}  // namespace

TEST_CASE("scenario: to_toml_text reads back to the same scenario and the same text") {
  const Scenario s1 = scenario_from(kFull);
  const std::string text1 = to_toml_text(s1);
  INFO("printed:\n" << text1);
  const Scenario s2 = parse_scenario(text1, "printed.toml");
  const std::string text2 = to_toml_text(s2);
  CHECK(text2 == text1);
  CHECK(to_toml(s2) == to_toml(s1));

  // The values survive, not just the text.
  CHECK(s2.scenario.description == "quotes \" and \\ backslash, tab\t, newline\n, del \x7f, \xc3\xa9");
  CHECK(s2.consumers.privacy_sensitivity.kind == DistKind::kBeta);
  CHECK(s2.consumers.privacy_sensitivity.param == std::array<double, 3>{1.5, 4.0, 3.0});
  CHECK(s2.consumers.activity.kind == DistKind::kUniform);
  CHECK(s2.consumers.activity.param[0] == 0.25);
  CHECK(s2.consumers.activity.param[1] == 1.75);
  CHECK(s2.sectors[0].data_scale == 1e-7);
  CHECK(s2.network.kind == NetworkKind::kWattsStrogatz);
  REQUIRE(s2.firms.size() == 2);
  CHECK(s2.firms[1].name == "Ant Group");
  CHECK(s2.firms[1].enter_at == 12);
  REQUIRE(s2.firms[0].services.size() == 2);
  CHECK(s2.firms[0].services[1].name == "Alipay");
  CHECK(s2.firms[0].services[1].initial_data == 2.5);
  REQUIRE(s2.jv.members.shares.size() == 2);
  CHECK(s2.jv.members.shares[1] == std::pair<std::string, double>{"Ant Group", 0.1});
  CHECK(s2.regulator.antitrust.cooldown == 12);
  CHECK(s2.regulator.breach.base_rate == 0.001);
  REQUIRE(s2.policies.size() == 2);
  CHECK(s2.policies[0].at == 24);  // file order
  CHECK(s2.policies[1].at == 12);
  CHECK(s2.policies[0].set.size() == 4);

  // Every table, in the order of MODEL.md; names that need it quoted; numbers in their
  // shortest form, inside a policy's nested tables too.
  std::size_t last = 0;
  for (const char* header : {"[scenario]", "[consumers]", "[consent]", "[network]", "[market]", "[[sector]]",
                             "[[firm]]", "[[firm.service]]", "[jv]", "[regulator]", "[regulator.antitrust]",
                             "[regulator.breach]", "[[policy]]"}) {
    INFO(header);
    const auto at = ("\n" + text1).find(std::string("\n") + header + "\n");
    CHECK((at != std::string::npos && at >= last));
    last = at == std::string::npos ? last : at;
  }
  CHECK(text1.rfind("[scenario]\nname = \"full\"\n", 0) == 0);
  CHECK(text1.find("members = { Alibaba = 0.08, \"Ant Group\" = 0.1 }\n") != std::string::npos);
  CHECK(text1.find("\"jv.members\" = { Alibaba = 0.1 }") != std::string::npos);
  CHECK(text1.find("set = { \"firm.Ant Group.pricing\" = \"fixed\" }\n") != std::string::npos);
  CHECK(text1.find("activity = { dist = \"uniform\", low = 0.25, high = 1.75 }\n") != std::string::npos);
}

TEST_CASE("scenario: a minimal scenario prints every key and reads back unchanged") {
  const Scenario s1 = scenario_from(kTwoFirms);
  const std::string text1 = to_toml_text(s1);
  INFO("printed:\n" << text1);
  CHECK(to_toml_text(parse_scenario(text1, "printed.toml")) == text1);
  for (const char* line : {"\nsteps = 20\n", "\ncount = 5000\n", "\nprivacy_sensitivity = { dist = \"beta\", a = 2.0, "
                                                                   "b = 5.0, scale = 2.0 }\n",
                           "\nmembers = {}\n", "\nstate_share = 0.36\n", "\ncooldown = 24\n", "\ntrust_recovery = 0.02\n"})
    CHECK(text1.find(line) != std::string::npos);
  CHECK(text1.find("[[policy]]") == std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The policy timeline

TEST_CASE("scenario: policy events become phases, same-step events in file order") {
  const std::string text = std::string(kTwoFirms) + R"(
[[policy]]
at = 10
set = { "regulator.consent" = "opt_out", "jv.enabled" = true }
[[policy]]
at = 5
set = { "regulator.sharing_mandate" = 0.25 }
[[policy]]
at = 10
set = { "regulator.consent" = "opt_in" }
[[policy]]
at = 15
set = { "jv.members" = { B = 0.25 } }
)";
  const Model m = build_model(scenario_from(text));
  CHECK(m.skipped_policy_notes.empty());
  REQUIRE(m.phases.size() == 4);
  CHECK(m.phases[0].start == 0);
  CHECK(m.phases[1].start == 5);
  CHECK(m.phases[2].start == 10);
  CHECK(m.phases[3].start == 15);

  // The model keeps the scenario as loaded.
  CHECK(m.scenario.regulator.consent == ConsentRegime::kNone);

  for (std::int64_t t : {0, 4}) {
    CAPTURE(t);
    const Scenario& p = m.phase(t).params;
    CHECK(m.phase(t).start == 0);
    CHECK(p.regulator.sharing_mandate == 0.0);
    CHECK(p.regulator.consent == ConsentRegime::kNone);
    CHECK_FALSE(p.jv.enabled);
  }
  for (std::int64_t t : {5, 9}) {
    CAPTURE(t);
    const Scenario& p = m.phase(t).params;
    CHECK(p.regulator.sharing_mandate == 0.25);
    CHECK(p.regulator.consent == ConsentRegime::kNone);
    CHECK_FALSE(p.jv.enabled);
  }
  for (std::int64_t t : {10, 14}) {
    CAPTURE(t);
    const Scenario& p = m.phase(t).params;
    CHECK(p.regulator.sharing_mandate == 0.25);              // carried over from step 5
    CHECK(p.regulator.consent == ConsentRegime::kOptIn);     // the later of the two at step 10
    CHECK(p.jv.enabled);
    CHECK(m.phase(t).shareholding == std::vector<double>{0.0, 0.0});
  }
  for (std::int64_t t : {15, 19}) {
    CAPTURE(t);
    const Phase& ph = m.phase(t);
    CHECK(ph.start == 15);
    CHECK(ph.params.regulator.consent == ConsentRegime::kOptIn);
    CHECK(ph.shareholding == std::vector<double>{0.0, 0.25});
    CHECK(ph.participant == std::vector<std::uint8_t>{0, 1});
  }
}

TEST_CASE("scenario: events at or past a shortened scenario.steps are dropped with a note") {
  const std::string text = std::string(kTwoFirms) + R"(
[[policy]]
at = 15
set = { "jv.enabled" = true }
[[policy]]
at = 5
set = { "regulator.consent" = "opt_in" }
[[policy]]
at = 18
set = { "regulator.siloing" = true }
)";
  SUBCASE("the file's own steps keep every event") {
    const Model m = build_model(scenario_from(text));
    CHECK(m.phases.size() == 4);
    CHECK(m.skipped_policy_notes.empty());
  }
  SUBCASE("steps shortened to 15") {
    const Model m = build_model(scenario_from(text, {{"scenario.steps", "15"}}));
    CHECK(m.steps == 15);
    REQUIRE(m.phases.size() == 2);
    CHECK(m.phases[1].start == 5);
    CHECK(m.phase(14).params.regulator.consent == ConsentRegime::kOptIn);
    CHECK_FALSE(m.phase(14).params.jv.enabled);
    CHECK_FALSE(m.phase(14).params.regulator.siloing);
    REQUIRE(m.skipped_policy_notes.size() == 2);
    CHECK(m.skipped_policy_notes[0].find("at = 15") != std::string::npos);
    CHECK(m.skipped_policy_notes[0].find("15 steps") != std::string::npos);
    CHECK(m.skipped_policy_notes[1].find("at = 18") != std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// The command line

TEST_CASE("cli: validate of a bad file exits 2 and prints file:line:col") {
  const auto dir = temp_dir("scenario-validate-bad");
  const auto file = dir / "bad.toml";
  const std::string text = replace(kTwoFirms, "count = 5000", "count = 5000\nrevision_rate = 1.5");
  write_text(file, text);
  std::string out;
  CHECK(run_cli(fmt::format("validate {}", file.string()), &out) == 2);
  INFO("output: " << out);
  CHECK(out.find(loc(text, "revision_rate = 1.5", "1.5", 1, file.string()) +
                 "consumers.revision_rate: 1.5 is out of range: must be in [0, 1]") != std::string::npos);

  const auto missing = dir / "missing.toml";
  CHECK(run_cli(fmt::format("validate {}", missing.string()), &out) == 2);
  CHECK(out.find(missing.string() + ": cannot open the scenario file") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli: validate of a good file exits 0 and prints a scenario that reads back") {
  const auto dir = temp_dir("scenario-validate-good");
  const auto file = dir / "full.toml";
  write_text(file, kFull);
  std::string out;
  CHECK(run_cli(fmt::format("validate {}", file.string()), &out) == 0);
  INFO("output: " << out);
  CHECK(out == to_toml_text(scenario_from(kFull)));
  Scenario back;
  CHECK_NOTHROW(back = parse_scenario(out, "validated.toml"));
  CHECK(back.scenario.name == "full");
  CHECK(to_toml_text(back) == out);
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli: run with --set of an unknown key exits 2 and writes nothing") {
  const auto dir = temp_dir("scenario-run-set");
  const auto file = dir / "two.toml";
  const auto out_dir = dir / "out";
  write_text(file, kTwoFirms);
  std::string out;
  CHECK(run_cli(fmt::format("run {} --out {} --quiet --set regulator.consnet=opt_in", file.string(), out_dir.string()),
                &out) == 2);
  INFO("output: " << out);
  CHECK(out.find("--set regulator.consnet=opt_in: regulator: unknown key 'consnet' (did you mean 'consent'?)") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out_dir));
  std::filesystem::remove_all(dir);
}

TEST_CASE("cli: --version prints the version") {
  std::string out;
  CHECK(run_cli("--version", &out) == 0);
  INFO("output: " << out);
  CHECK(out.rfind(fmt::format("policysim {} ", kVersion), 0) == 0);
  const std::string version = kVersion;  // project(policysim VERSION X.Y.Z), filled in by CMake
  CHECK((!version.empty() && std::count(version.begin(), version.end(), '.') == 2 &&
         version.find_first_not_of("0123456789.") == std::string::npos));
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  CHECK(out.back() == '\n');
}

}  // namespace policysim::test
