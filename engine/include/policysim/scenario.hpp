// The scenario as written in a TOML file (MODEL.md section 5): plain data with a default for
// every key. Each table lists its keys once, in `fields()`, and every generic operation
// (reading a file, `--set`, `[[policy]]` events, printing for `validate`) is a visitor over that
// list, so a key added here is read, checked, settable and printed without further code.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

namespace policysim {

// Range check attached to a numeric key; bounds are inclusive unless `*_open`.
struct Check {
  double lo = -1e300;
  double hi = 1e300;
  bool lo_open = false;
  bool hi_open = false;
  std::string_view allowed;  // how the allowed range reads in an error message
};
inline constexpr Check kAny{};
inline constexpr Check kNonNegative{0.0, 1e300, false, false, ">= 0"};
inline constexpr Check kPositive{0.0, 1e300, true, false, "> 0"};
inline constexpr Check kProbability{0.0, 1.0, false, false, "in [0, 1]"};
inline constexpr Check kUnitOpen{0.0, 1.0, false, true, "in [0, 1)"};
inline constexpr Check kCount{1.0, 4294967295.0, false, false, "an integer in [1, 4294967295]"};
inline constexpr Check kStep{0.0, 1e15, false, false, "an integer >= 0"};

// Whether a `[[policy]]` event may change the key while a run is going.
enum class Mutable : bool { kNo = false, kYes = true };

enum class DistKind : std::uint8_t { kConstant, kUniform, kBeta, kLognormal, kNormal };
enum class NetworkKind : std::uint8_t { kNone, kWattsStrogatz, kBarabasiAlbert };
enum class DataReturns : std::uint8_t { kLog, kSaturating, kPower };
enum class Pricing : std::uint8_t { kFixed, kBestResponse };
enum class Participation : std::uint8_t { kMandatory, kVoluntary };
enum class Access : std::uint8_t { kNone, kMembers, kAll, kLicensed };
enum class ConsentRegime : std::uint8_t { kNone, kOptOut, kOptIn };
enum class MandateScope : std::uint8_t { kMembers, kAll };

// The spelling of each enumerator in scenario files, in enumerator order.
template <class E>
struct EnumNames;
#define POLICYSIM_ENUM_NAMES(E, ...)                                     \
  template <>                                                            \
  struct EnumNames<E> {                                                  \
    static constexpr std::array<std::string_view, std::size(            \
        std::initializer_list<std::string_view>{__VA_ARGS__})>           \
        kNames{__VA_ARGS__};                                             \
  };
POLICYSIM_ENUM_NAMES(DistKind, "constant", "uniform", "beta", "lognormal", "normal")
POLICYSIM_ENUM_NAMES(NetworkKind, "none", "watts_strogatz", "barabasi_albert")
POLICYSIM_ENUM_NAMES(DataReturns, "log", "saturating", "power")
POLICYSIM_ENUM_NAMES(Pricing, "fixed", "best_response")
POLICYSIM_ENUM_NAMES(Participation, "mandatory", "voluntary")
POLICYSIM_ENUM_NAMES(Access, "none", "members", "all", "licensed")
POLICYSIM_ENUM_NAMES(ConsentRegime, "none", "opt_out", "opt_in")
POLICYSIM_ENUM_NAMES(MandateScope, "members", "all")
#undef POLICYSIM_ENUM_NAMES

template <class E>
constexpr std::string_view enum_name(E e) {
  return EnumNames<E>::kNames[static_cast<std::size_t>(e)];
}

// A distribution of a consumer attribute: `{ dist = "beta", a = 2.0, b = 5.0, scale = 2.0 }`.
// `param` holds the kind's parameters in the order of `param_names(kind)`.
struct Distribution {
  DistKind kind = DistKind::kConstant;
  std::array<double, 3> param{0.0, 0.0, 1.0};
};
// Parameter names of each kind, in `Distribution::param` order (empty name: unused slot).
std::array<std::string_view, 3> param_names(DistKind kind);

// Firm name -> shareholding in the JV, in file order.
struct Shareholdings {
  std::vector<std::pair<std::string, double>> shares;
};

struct ScenarioInfo {
  std::string name;
  std::string description;
  std::int64_t steps = 120;
  std::int64_t seed = 1;
  std::int64_t replications = 1;
  template <class V>
  void fields(V&& v) {
    v("name", name, Mutable::kNo);
    v("description", description, Mutable::kNo);
    v("steps", steps, kCount, Mutable::kNo);
    v("seed", seed, Check{0.0, 1.8e19, false, false, "an integer >= 0"}, Mutable::kNo);
    v("replications", replications, kCount, Mutable::kNo);
  }
};

struct ConsumerParams {
  std::int64_t count = 100000;
  double revision_rate = 0.1;
  double consent_revision_rate = 0.05;
  double price_sensitivity = 1.0;
  double quality_weight = 1.0;
  double switching_cost = 0.5;
  double peer_weight = 0.0;
  Distribution privacy_sensitivity{DistKind::kBeta, {2.0, 5.0, 2.0}};
  Distribution activity{DistKind::kLognormal, {-0.125, 0.5, 0.0}};
  double initial_trust = 0.7;
  template <class V>
  void fields(V&& v) {
    v("count", count, kCount, Mutable::kNo);
    v("revision_rate", revision_rate, kProbability, Mutable::kYes);
    v("consent_revision_rate", consent_revision_rate, kProbability, Mutable::kYes);
    v("price_sensitivity", price_sensitivity, kPositive, Mutable::kYes);
    v("quality_weight", quality_weight, kAny, Mutable::kYes);
    v("switching_cost", switching_cost, kAny, Mutable::kYes);
    v("peer_weight", peer_weight, kAny, Mutable::kYes);
    v("privacy_sensitivity", privacy_sensitivity, Mutable::kNo);
    v("activity", activity, Mutable::kNo);
    v("initial_trust", initial_trust, kProbability, Mutable::kNo);
  }
};

struct ConsentParams {
  double trust_weight = 2.0;
  double benefit = 0.0;
  double default_bias = 2.0;
  template <class V>
  void fields(V&& v) {
    v("trust_weight", trust_weight, kAny, Mutable::kYes);
    v("benefit", benefit, kAny, Mutable::kYes);
    v("default_bias", default_bias, kAny, Mutable::kYes);
  }
};

struct NetworkParams {
  NetworkKind kind = NetworkKind::kNone;
  std::int64_t degree = 10;
  double rewire = 0.1;
  template <class V>
  void fields(V&& v) {
    v("kind", kind, Mutable::kNo);
    v("degree", degree, Check{2.0, 1000.0, false, false, "an even integer in [2, 1000]"}, Mutable::kNo);
    v("rewire", rewire, kProbability, Mutable::kNo);
  }
};

struct MarketParams {
  double cross_sector_spillover = 0.3;
  double innovation_depreciation = 0.05;
  double appropriability_loss = 0.5;
  double exit_share = 0.01;
  std::int64_t exit_persistence = 12;
  template <class V>
  void fields(V&& v) {
    v("cross_sector_spillover", cross_sector_spillover, kNonNegative, Mutable::kYes);
    v("innovation_depreciation", innovation_depreciation, kProbability, Mutable::kYes);
    v("appropriability_loss", appropriability_loss, kProbability, Mutable::kYes);
    v("exit_share", exit_share, kProbability, Mutable::kYes);
    v("exit_persistence", exit_persistence, kCount, Mutable::kYes);
  }
};

struct Sector {
  std::string name;
  double data_intensity = 1.0;
  double outside_utility = 0.0;
  DataReturns data_returns = DataReturns::kLog;
  double data_weight = 1.0;
  double data_scale = 1.0;
  double data_exponent = 0.5;
  double innovation_weight = 0.5;
  double depreciation = 0.05;
  template <class V>
  void fields(V&& v) {
    v("name", name, Mutable::kNo);
    v("data_intensity", data_intensity, kNonNegative, Mutable::kYes);
    v("outside_utility", outside_utility, kAny, Mutable::kYes);
    v("data_returns", data_returns, Mutable::kYes);
    v("data_weight", data_weight, kAny, Mutable::kYes);
    v("data_scale", data_scale, kPositive, Mutable::kYes);
    v("data_exponent", data_exponent, kPositive, Mutable::kYes);
    v("innovation_weight", innovation_weight, kAny, Mutable::kYes);
    v("depreciation", depreciation, Check{0.0, 1.0, true, false, "in (0, 1]"}, Mutable::kYes);
  }
};

struct Service {
  std::string name;
  std::string sector;
  double base_quality = 1.0;
  double price = 1.0;
  double marginal_cost = 0.5;
  double extraction = 0.2;
  double ad_rate = 0.1;
  double initial_share = 0.0;
  double initial_data = 0.0;
  template <class V>
  void fields(V&& v) {
    v("name", name, Mutable::kNo);
    v("sector", sector, Mutable::kNo);
    v("base_quality", base_quality, kAny, Mutable::kYes);
    v("price", price, kNonNegative, Mutable::kNo);
    v("marginal_cost", marginal_cost, kNonNegative, Mutable::kYes);
    v("extraction", extraction, kNonNegative, Mutable::kYes);
    v("ad_rate", ad_rate, kNonNegative, Mutable::kYes);
    v("initial_share", initial_share, kProbability, Mutable::kNo);
    v("initial_data", initial_data, kNonNegative, Mutable::kNo);
  }
};

struct Firm {
  std::string name;
  std::int64_t enter_at = 0;
  Pricing pricing = Pricing::kBestResponse;
  double price_adjustment = 0.2;
  double innovation_rate = 0.1;
  double initial_innovation = 0.0;
  double fixed_cost = 0.0;
  std::vector<Service> services;
  template <class V>
  void fields(V&& v) {
    v("name", name, Mutable::kNo);
    v("enter_at", enter_at, kStep, Mutable::kNo);
    v("pricing", pricing, Mutable::kYes);
    v("price_adjustment", price_adjustment, kProbability, Mutable::kYes);
    v("innovation_rate", innovation_rate, kNonNegative, Mutable::kYes);
    v("initial_innovation", initial_innovation, kNonNegative, Mutable::kNo);
    v("fixed_cost", fixed_cost, kAny, Mutable::kYes);
    v("service", services, Mutable::kYes);
  }
};

struct JvParams {
  bool enabled = false;
  Participation participation = Participation::kMandatory;
  Shareholdings members;
  double state_share = 0.36;
  double regulator_control = 0.5;
  Access access = Access::kMembers;
  double access_fee = 0.0;
  double anonymization = 0.3;
  double depreciation = 0.05;
  double reid_risk = 0.5;
  double surveillance_weight = 1.0;
  double voluntary_base = 0.1;
  double voluntary_slope = 1.0;
  template <class V>
  void fields(V&& v) {
    v("enabled", enabled, Mutable::kYes);
    v("participation", participation, Mutable::kYes);
    v("members", members, Mutable::kYes);
    v("state_share", state_share, kProbability, Mutable::kYes);
    v("regulator_control", regulator_control, kProbability, Mutable::kYes);
    v("access", access, Mutable::kYes);
    v("access_fee", access_fee, kNonNegative, Mutable::kYes);
    v("anonymization", anonymization, kProbability, Mutable::kYes);
    v("depreciation", depreciation, kProbability, Mutable::kYes);
    v("reid_risk", reid_risk, kProbability, Mutable::kYes);
    v("surveillance_weight", surveillance_weight, kNonNegative, Mutable::kYes);
    v("voluntary_base", voluntary_base, kProbability, Mutable::kYes);
    v("voluntary_slope", voluntary_slope, kAny, Mutable::kYes);
  }
};

struct AntitrustParams {
  bool enabled = false;
  double share_threshold = 0.5;
  std::int64_t persistence = 6;
  double fine_rate = 0.04;
  double remedy_mandate = 0.0;
  std::int64_t cooldown = 24;
  template <class V>
  void fields(V&& v) {
    v("enabled", enabled, Mutable::kYes);
    v("share_threshold", share_threshold, kProbability, Mutable::kYes);
    v("persistence", persistence, kCount, Mutable::kYes);
    v("fine_rate", fine_rate, kProbability, Mutable::kYes);
    v("remedy_mandate", remedy_mandate, kProbability, Mutable::kYes);
    v("cooldown", cooldown, kStep, Mutable::kYes);
  }
};

struct BreachParams {
  double base_rate = 0.0;
  double trust_shock = 0.2;
  double trust_recovery = 0.02;
  template <class V>
  void fields(V&& v) {
    v("base_rate", base_rate, kProbability, Mutable::kYes);
    v("trust_shock", trust_shock, kProbability, Mutable::kYes);
    v("trust_recovery", trust_recovery, kProbability, Mutable::kYes);
  }
};

struct RegulatorParams {
  ConsentRegime consent = ConsentRegime::kNone;
  double sharing_mandate = 0.0;
  MandateScope mandate_scope = MandateScope::kMembers;
  double compliance_cost = 0.0;
  double portability = 0.0;
  bool siloing = false;
  AntitrustParams antitrust;
  BreachParams breach;
  template <class V>
  void fields(V&& v) {
    v("consent", consent, Mutable::kYes);
    v("sharing_mandate", sharing_mandate, kProbability, Mutable::kYes);
    v("mandate_scope", mandate_scope, Mutable::kYes);
    v("compliance_cost", compliance_cost, kProbability, Mutable::kYes);
    v("portability", portability, kProbability, Mutable::kYes);
    v("siloing", siloing, Mutable::kYes);
    v("antitrust", antitrust, Mutable::kYes);
    v("breach", breach, Mutable::kYes);
  }
};

// One `[[policy]]` event: the assignments in `set`, applied at the start of step `at`.
struct PolicyEvent {
  std::int64_t at = 0;
  toml::table set;  // dotted path -> value, as written (source positions kept for errors)
  template <class V>
  void fields(V&& v) {
    v("at", at, kStep, Mutable::kNo);
    v("set", set, Mutable::kNo);
  }
};

struct Scenario {
  ScenarioInfo scenario;
  ConsumerParams consumers;
  ConsentParams consent;
  NetworkParams network;
  MarketParams market;
  std::vector<Sector> sectors;
  std::vector<Firm> firms;
  JvParams jv;
  RegulatorParams regulator;
  std::vector<PolicyEvent> policies;
  std::string source;  // the file it came from, for messages and the manifest
  template <class V>
  void fields(V&& v) {
    v("scenario", scenario, Mutable::kNo);
    v("consumers", consumers, Mutable::kYes);
    v("consent", consent, Mutable::kYes);
    v("network", network, Mutable::kNo);
    v("market", market, Mutable::kYes);
    v("sector", sectors, Mutable::kYes);
    v("firm", firms, Mutable::kYes);
    v("jv", jv, Mutable::kYes);
    v("regulator", regulator, Mutable::kYes);
    v("policy", policies, Mutable::kNo);
  }
};

// One `--set PATH=VALUE` override, as given on the command line.
struct Override {
  std::string path;
  std::string value;  // TOML value text; a bare word is taken as a string
};

// Reads, checks and resolves a scenario file: defaults filled in, overrides applied, every
// reference and range checked. Throws InputError naming file, line, column and key.
Scenario load_scenario(const std::string& path, const std::vector<Override>& overrides = {});
// The same from TOML text; `source` names it in messages.
Scenario parse_scenario(std::string_view text, const std::string& source,
                        const std::vector<Override>& overrides = {});

// Sets the key at a dotted path (`firm.Alibaba.service.Taobao.price`) from a TOML value and
// re-checks its range. `runtime` restricts it to keys a policy event may change.
void assign_path(Scenario& s, std::string_view path, const toml::node& value,
                 const toml::source_region& where, bool runtime);

// Cross-key checks (references, sums of shares, policy steps); throws InputError.
void check_scenario(const Scenario& s);

// The resolved scenario as a TOML table, every key written out.
toml::table to_toml(const Scenario& s);
// The same as TOML text in the order of the keys in MODEL.md, numbers in their shortest form;
// it reads back to the same scenario.
std::string to_toml_text(const Scenario& s);

}  // namespace policysim
