#include "helpers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include <boost/math/distributions/beta.hpp>

#include "consumers.hpp"
#include "policysim/bench.hpp"
#include "jv.hpp"
#include "population.hpp"

namespace policysim::test {
namespace {

// ---------------------------------------------------------------------------------------
// Population

const char* kPopulation = R"(
[scenario]
name = "population"
seed = 17
[consumers]
count = 20000
[[sector]]
name = "ecommerce"
[[sector]]
name = "payments"
[[firm]]
name = "A"
  [[firm.service]]
  name = "a_shop"
  sector = "ecommerce"
  initial_share = 0.3
  [[firm.service]]
  name = "a_pay"
  sector = "payments"
  initial_share = 0.6
[[firm]]
name = "B"
  [[firm.service]]
  name = "b_shop"
  sector = "ecommerce"
  initial_share = 0.5
)";

// The attribute arrays of a population whose privacy and activity both follow `dist`.
State population_with(const std::string& dist) {
  const Model m = build_model(
      scenario_from(kPopulation, {{"consumers.privacy_sensitivity", dist}, {"consumers.activity", dist}}));
  return initial_state(m, 1);
}

// Sample mean and unbiased variance of x against the distribution's mean, variance and
// fourth central moment mu4, each within 5 standard errors: sd/sqrt(N) for the mean and
// sqrt((mu4 - var^2 (N-3)/(N-1)) / N) for the sample variance.
void check_moments(const ConsumerArray<float>& x, double mean, double var, double mu4) {
  const auto n = static_cast<double>(x.size());
  double sum = 0;
  for (float v : x) sum += v;
  const double m = sum / n;
  double ss = 0;
  for (float v : x) ss += (v - m) * (v - m);
  const double s2 = ss / (n - 1);
  const double se_mean = std::sqrt(var / n);
  const double se_var = std::sqrt(std::max(0.0, mu4 - var * var * (n - 3) / (n - 1)) / n);
  POLICYSIM_CHECK_NEAR(m, mean, 5 * se_mean + 1e-6 * std::abs(mean));  // + float storage
  POLICYSIM_CHECK_NEAR(s2, var, 5 * se_var + 1e-6 * var);
}

double binomial_tol(double n, double p) { return 5.0 * std::sqrt(n * p * (1.0 - p)); }

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// ---------------------------------------------------------------------------------------
// Consumer pass

// One sector, two services and the outside option; no data or innovation effect on
// quality, fixed prices, so the options' utilities stay put.
const char* kMarket = R"(
[scenario]
name = "consumers"
seed = 5
[consumers]
count = 20000
revision_rate = 0.0
consent_revision_rate = 0.0
switching_cost = 0.0
privacy_sensitivity = { dist = "constant", value = 0.0 }
activity = { dist = "lognormal", mu = -0.125, sigma = 0.5 }
initial_trust = 0.7
[[sector]]
name = "ecommerce"
data_intensity = 2.5
data_weight = 0.0
innovation_weight = 0.0
[[firm]]
name = "A"
pricing = "fixed"
  [[firm.service]]
  name = "a"
  sector = "ecommerce"
  base_quality = 1.5
  price = 1.0
  extraction = 0.3
  initial_share = 0.5
[[firm]]
name = "B"
pricing = "fixed"
  [[firm.service]]
  name = "b"
  sector = "ecommerce"
  base_quality = 1.0
  price = 0.8
  extraction = 0.1
  initial_share = 0.3
)";

Model market_model(const std::vector<Override>& overrides = {}) {
  return build_model(scenario_from(kMarket, overrides));
}

// Consumers whose (single-sector) choice differs between a and b.
std::int64_t changed(const ConsumerArray<std::uint8_t>& a, const ConsumerArray<std::uint8_t>& b) {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return n;
}

// Weight exp(V) of every option of sector 0 in the option table of the step just run
// (privacy sensitivity 0, no peers: V is the base utility).
std::vector<double> option_weights(const Model& m, const State& st) {
  std::vector<double> w;
  for (int o = m.option_offset[0]; o < m.option_offset[1]; ++o)
    w.push_back(st.options.open[o] ? std::exp(static_cast<double>(st.options.base[o])) : 0.0);
  return w;
}

// Sector 0's codes after a step in which everyone revised without a switching cost, against
// the logit shares exp(V_j) / sum exp(V_l) of the step's option table.
void check_logit_shares(const Model& m, const State& st) {
  const auto w = option_weights(m, st);
  double total = 0;
  for (double x : w) total += x;
  const double n = m.consumers;
  for (std::size_t j = 0; j < w.size(); ++j) {
    CAPTURE(j);
    const double p = w[j] / total;
    std::int64_t count = 0;
    for (std::uint32_t i = 0; i < m.consumers; ++i) count += st.consumers.choice[static_cast<std::size_t>(i) * m.sectors] == j;
    POLICYSIM_CHECK_NEAR(static_cast<double>(count), n * p, binomial_tol(n, p));
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// population

TEST_CASE("population: constant distribution gives its value to every consumer") {
  const State st = population_with("{ dist = \"constant\", value = 0.8 }");
  const float v = 0.8f;
  CHECK(std::all_of(st.consumers.privacy.begin(), st.consumers.privacy.end(), [&](float x) { return x == v; }));
  CHECK(std::all_of(st.consumers.activity.begin(), st.consumers.activity.end(), [&](float x) { return x == v; }));
}

TEST_CASE("population: uniform distribution has mean (low+high)/2 and variance (high-low)^2/12") {
  const State st = population_with("{ dist = \"uniform\", low = 0.5, high = 2.5 }");
  const double w = 2.0;
  for (const auto* x : {&st.consumers.privacy, &st.consumers.activity})
    check_moments(*x, 1.5, w * w / 12, std::pow(w, 4) / 80);
}

// Kolmogorov-Smirnov distance between the sample x and the distribution function cdf.
template <class Cdf>
double ks_distance(ConsumerArray<float> x, Cdf cdf) {
  std::sort(x.begin(), x.end());
  const auto n = static_cast<double>(x.size());
  double d = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double f = cdf(static_cast<double>(x[i]));
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return d;
}

TEST_CASE("population: beta distribution with scale has mean scale*a/(a+b) and variance scale^2*ab/((a+b)^2(a+b+1))") {
  // shapes above 1 (the default) and below 1 (the gamma sampler's boost by U^(1/shape))
  for (const auto& [a, b] : {std::pair{2.0, 5.0}, std::pair{0.5, 0.8}}) {
    CAPTURE(a);
    CAPTURE(b);
    const double c = 2.0;
    const State st = population_with(fmt::format("{{ dist = \"beta\", a = {}, b = {}, scale = {} }}", a, b, c));
    const double mean = c * a / (a + b);
    const double var = c * c * a * b / ((a + b) * (a + b) * (a + b + 1));
    const double excess = 6 * ((a - b) * (a - b) * (a + b + 1) - a * b * (a + b + 2)) / (a * b * (a + b + 2) * (a + b + 3));
    const boost::math::beta_distribution<double> dist(a, b);
    for (const auto* x : {&st.consumers.privacy, &st.consumers.activity}) {
      check_moments(*x, mean, var, (excess + 3) * var * var);
      CHECK(*std::max_element(x->begin(), x->end()) <= c);
      // the 0.1% critical value of the Kolmogorov-Smirnov distance is 1.95/sqrt(n)
      const double d = ks_distance(*x, [&](double v) { return boost::math::cdf(dist, std::clamp(v / c, 0.0, 1.0)); });
      CHECK(d < 1.95 / std::sqrt(static_cast<double>(x->size())));
    }
  }
}

TEST_CASE("population: lognormal distribution has mean exp(mu+sigma^2/2) and variance (exp(sigma^2)-1)exp(2mu+sigma^2)") {
  const double mu = -0.125, sigma = 0.5;
  const State st = population_with("{ dist = \"lognormal\", mu = -0.125, sigma = 0.5 }");
  const double s2 = sigma * sigma;
  const double mean = std::exp(mu + s2 / 2);
  const double var = (std::exp(s2) - 1) * std::exp(2 * mu + s2);
  const double excess = std::exp(4 * s2) + 2 * std::exp(3 * s2) + 3 * std::exp(2 * s2) - 6;
  for (const auto* x : {&st.consumers.privacy, &st.consumers.activity})
    check_moments(*x, mean, var, (excess + 3) * var * var);
}

TEST_CASE("population: normal distribution has its mean and sd") {
  // mean 6 sd 1: the clamp at 0 bites with probability ~1e-9, so it does not show
  const State st = population_with("{ dist = \"normal\", mean = 6.0, sd = 1.0 }");
  for (const auto* x : {&st.consumers.privacy, &st.consumers.activity}) check_moments(*x, 6.0, 1.0, 3.0);
}

TEST_CASE("population: negative draws are clamped to 0") {
  const State st = population_with("{ dist = \"normal\", mean = 0.0, sd = 1.0 }");
  const auto& x = st.consumers.activity;
  CHECK(*std::min_element(x.begin(), x.end()) == 0.0f);
  const double zeros = static_cast<double>(std::count(x.begin(), x.end(), 0.0f));
  POLICYSIM_CHECK_NEAR(zeros, 0.5 * static_cast<double>(x.size()), binomial_tol(static_cast<double>(x.size()), 0.5));
}

TEST_CASE("population: initial choices follow initial_share in every sector") {
  const Model m = build_model(scenario_from(kPopulation));
  const State st = initial_state(m, 1);
  const double n = m.consumers;
  // codes: ecommerce 0 outside, 1 a_shop (0.3), 2 b_shop (0.5); payments 0 outside, 1 a_pay (0.6)
  const std::vector<std::vector<double>> share{{0.2, 0.3, 0.5}, {0.4, 0.6}};
  for (int s = 0; s < m.sectors; ++s) {
    std::vector<double> count(share[s].size(), 0.0);
    for (std::uint32_t i = 0; i < m.consumers; ++i) count.at(st.consumers.choice[i * m.sectors + s]) += 1;
    for (std::size_t j = 0; j < count.size(); ++j) {
      CAPTURE(s);
      CAPTURE(j);
      POLICYSIM_CHECK_NEAR(count[j], n * share[s][j], binomial_tol(n, share[s][j]));
    }
  }
  // the services' initial users are those counts
  for (int k = 0; k < m.services; ++k) {
    double users = 0;
    const int s = m.service_sector[k];
    for (std::uint32_t i = 0; i < m.consumers; ++i) users += st.consumers.choice[i * m.sectors + s] == m.service_option[k];
    CHECK(st.services.users[k] == users);
  }
}

TEST_CASE("population: consent starts at 1 under none and opt_out and at 0 under opt_in") {
  for (const auto* regime : {"none", "opt_out", "opt_in"}) {
    CAPTURE(regime);
    const Model m = build_model(scenario_from(kPopulation, {{"regulator.consent", regime}}));
    const State st = initial_state(m, 1);
    const std::uint8_t expected = std::string(regime) == "opt_in" ? 0 : 1;
    CHECK(std::all_of(st.consumers.consent.begin(), st.consumers.consent.end(),
                      [&](std::uint8_t c) { return c == expected; }));
    CHECK(std::all_of(st.consumers.trust.begin(), st.consumers.trust.end(), [](float t) { return t == 0.7f; }));
  }
}

TEST_CASE("population: another replication draws another population") {
  const Model m = build_model(scenario_from(kPopulation));
  const State a = initial_state(m, 1), b = initial_state(m, 1), c = initial_state(m, 2);
  CHECK(a.consumers.privacy == b.consumers.privacy);
  CHECK(a.consumers.choice == b.consumers.choice);
  CHECK(a.consumers.privacy != c.consumers.privacy);
  CHECK(a.consumers.choice != c.consumers.choice);
}

// ---------------------------------------------------------------------------------------
// consumers

TEST_CASE("consumers: trust recovers toward initial_trust at trust_recovery per step") {
  const Model m = market_model({{"regulator.breach.trust_recovery", "0.1"}});
  State st = initial_state(m, 1);
  for (std::uint32_t i = 0; i < m.consumers; ++i) st.consumers.trust[i] = i % 2 ? 0.2f : 1.0f;
  const ConsumerArray<float> before = st.consumers.trust;
  step(m, st);
  std::int64_t wrong = 0;
  for (std::uint32_t i = 0; i < m.consumers; ++i) {
    const float expected = std::clamp(before[i] + 0.1f * (0.7f - before[i]), 0.0f, 1.0f);
    wrong += std::abs(st.consumers.trust[i] - expected) > 1e-6f;
  }
  CHECK(wrong == 0);
  CHECK(st.consumers.trust[1] > 0.2f);
  CHECK(st.consumers.trust[0] < 1.0f);
  POLICYSIM_CHECK_NEAR(st.totals.trust, std::accumulate(st.consumers.trust.begin(), st.consumers.trust.end(), 0.0),
                       1e-6 * m.consumers);
}

TEST_CASE("consumers: a breach of a holder of the consumer's data drops trust by trust_shock the next step") {
  // base_rate 1 and a huge data stock: both firms are breached every step
  const Model m = market_model({{"regulator.breach.base_rate", "1.0"},
                                {"regulator.breach.trust_shock", "0.2"},
                                {"regulator.breach.trust_recovery", "0.02"},
                                {"firm.A.service.a.initial_data", "1e9"},
                                {"firm.B.service.b.initial_data", "1e9"}});
  State st = initial_state(m, 1);
  const ConsumerArray<std::uint8_t> choice = st.consumers.choice;  // revision_rate 0: fixed
  step(m, st);
  REQUIRE(st.firms.breached[0] == 1);
  REQUIRE(st.firms.breached[1] == 1);
  // the breach of step 0 has not reached anyone yet
  CHECK(std::all_of(st.consumers.trust.begin(), st.consumers.trust.end(), [](float t) { return t == 0.7f; }));
  std::vector<float> expected(m.consumers, 0.7f);
  for (int t = 1; t <= 3; ++t) {
    step(m, st);
    std::int64_t wrong = 0;
    for (std::uint32_t i = 0; i < m.consumers; ++i) {
      const bool exposed = choice[i] != 0;
      expected[i] = std::clamp(expected[i] + 0.02f * (0.7f - expected[i]) - (exposed ? 0.2f : 0.0f), 0.0f, 1.0f);
      wrong += std::abs(st.consumers.trust[i] - expected[i]) > 1e-6f;
    }
    CAPTURE(t);
    CHECK(wrong == 0);
  }
  // users of a or b were hit, outsiders kept their trust
  const auto user = std::find_if(choice.begin(), choice.end(), [](std::uint8_t c) { return c != 0; }) - choice.begin();
  const auto outsider = std::find(choice.begin(), choice.end(), std::uint8_t{0}) - choice.begin();
  CHECK(st.consumers.trust[user] < 0.7f - 0.2f);
  CHECK(st.consumers.trust[outsider] == 0.7f);
}

TEST_CASE("consumers: consent regime none sets every consent to 1") {
  const Model m = market_model({{"regulator.consent", "none"}, {"jv.enabled", "true"}});
  State st = initial_state(m, 1);
  std::fill(st.consumers.consent.begin(), st.consumers.consent.end(), std::uint8_t{0});
  step(m, st);
  CHECK(std::all_of(st.consumers.consent.begin(), st.consumers.consent.end(), [](std::uint8_t c) { return c == 1; }));
  CHECK(st.totals.consent == m.consumers);
}

TEST_CASE("consumers: opt_in consent converges to logistic(trust_weight*tau - theta*rho_JV + benefit)") {
  const Model m = market_model({{"regulator.consent", "opt_in"},
                                {"consumers.consent_revision_rate", "1.0"},
                                {"consumers.privacy_sensitivity", "{ dist = \"constant\", value = 1.0 }"},
                                {"consent.trust_weight", "2.0"},
                                {"consent.benefit", "0.3"},
                                {"jv.enabled", "true"},
                                {"jv.regulator_control", "0.5"},
                                {"jv.surveillance_weight", "1.0"},
                                {"jv.anonymization", "0.3"},
                                {"jv.reid_risk", "0.5"}});
  const double rho = 0.5 * 1.0 + (1 - 0.3) * 0.5;
  CHECK(jv_risk(m.scenario.jv) == doctest::Approx(rho));
  const double p = logistic(2.0 * 0.7 - 1.0 * rho + 0.3);
  const double n = m.consumers;
  State st = initial_state(m, 1);
  CHECK(st.totals.consent == 0);
  for (int t = 0; t < 3; ++t) {
    step(m, st);
    const double consenting =
        static_cast<double>(std::count(st.consumers.consent.begin(), st.consumers.consent.end(), std::uint8_t{1}));
    CAPTURE(t);
    POLICYSIM_CHECK_NEAR(consenting, n * p, binomial_tol(n, p));
    CHECK(st.totals.consent == consenting);
  }
}

TEST_CASE("consumers: opt_out consent is higher, at logistic(... + default_bias)") {
  const std::vector<Override> common{{"consumers.consent_revision_rate", "1.0"},
                                     {"consumers.privacy_sensitivity", "{ dist = \"constant\", value = 1.0 }"},
                                     {"consent.benefit", "0.3"},
                                     {"consent.default_bias", "1.0"},
                                     {"jv.enabled", "true"}};
  auto with = [&](const char* regime) {
    auto o = common;
    o.push_back({"regulator.consent", regime});
    const Model m = market_model(o);
    return run_steps(m, 2).totals.consent;
  };
  const double rho = jv_risk(JvParams{});
  const double n = 20000;
  const double p_in = logistic(2.0 * 0.7 - rho + 0.3);
  const double p_out = logistic(2.0 * 0.7 - rho + 0.3 + 1.0);
  const double in = with("opt_in"), out = with("opt_out");
  POLICYSIM_CHECK_NEAR(in, n * p_in, binomial_tol(n, p_in));
  POLICYSIM_CHECK_NEAR(out, n * p_out, binomial_tol(n, p_out));
  CHECK(out > in);
}

TEST_CASE("consumers: consent is revised with probability consent_revision_rate per step") {
  const double r = 0.25;
  const Model m = market_model({{"regulator.consent", "opt_in"},
                                {"consumers.consent_revision_rate", "0.25"},
                                {"consumers.privacy_sensitivity", "{ dist = \"constant\", value = 1.0 }"},
                                {"jv.enabled", "true"}});
  const double p = logistic(2.0 * 0.7 - jv_risk(JvParams{}));
  const double n = m.consumers;
  State st = initial_state(m, 1);
  step(m, st);  // from all 0: a consumer consents if they revised (r) and said yes (p)
  POLICYSIM_CHECK_NEAR(st.totals.consent, n * r * p, binomial_tol(n, r * p));
  step(m, st);  // P(consent after 2) = p * (1 - (1-r)^2)
  const double p2 = p * (1 - (1 - r) * (1 - r));
  POLICYSIM_CHECK_NEAR(st.totals.consent, n * p2, binomial_tol(n, p2));
}

TEST_CASE("consumers: revision_rate 0 keeps every choice") {
  const Model m = market_model({{"consumers.revision_rate", "0.0"}, {"sector.ecommerce.data_weight", "1.0"}});
  State st = initial_state(m, 1);
  const auto before = st.consumers.choice;
  const auto users = st.services.users;
  for (int t = 0; t < 10; ++t) step(m, st);
  CHECK(st.consumers.choice == before);
  CHECK(st.services.users == users);
}

TEST_CASE("consumers: a revising consumer picks option j with logit probability, the current one boosted by exp(switching_cost)") {
  // The expected number of switchers, from the option weights w and the bonus B = exp(sc):
  // a consumer on j revises with probability r and then stays with probability
  // B w_j / (sum w + (B-1) w_j).
  const double r = 0.5;
  std::vector<std::int64_t> switched;
  for (const char* sc : {"0.0", "1.0", "3.0"}) {
    CAPTURE(sc);
    const Model m = market_model({{"consumers.revision_rate", "0.5"}, {"consumers.switching_cost", sc}});
    State st = initial_state(m, 1);
    const auto before = st.consumers.choice;
    step(m, st);
    const auto w = option_weights(m, st);
    double total = 0;
    for (double x : w) total += x;
    const double bonus = std::exp(m.scenario.consumers.switching_cost);
    double mean = 0, var = 0;
    for (std::uint32_t i = 0; i < m.consumers; ++i) {
      const double wj = w[before[i]];
      const double p = r * (1 - bonus * wj / (total + (bonus - 1) * wj));
      mean += p;
      var += p * (1 - p);
    }
    switched.push_back(changed(before, st.consumers.choice));
    POLICYSIM_CHECK_NEAR(static_cast<double>(switched.back()), mean, 5 * std::sqrt(var));
  }
  CHECK(switched[1] < switched[0]);
  CHECK(switched[2] < switched[1]);
}

TEST_CASE("consumers: choice shares of revising consumers follow the logit over open options") {
  // switching_cost 0, revision 1: every consumer draws from exp(V_j)/sum exp(V_l)
  const Model m = market_model({{"consumers.revision_rate", "1.0"}});
  State st = initial_state(m, 1);
  step(m, st);
  check_logit_shares(m, st);
  // and the utility is quality_weight*q - alpha*p
  CHECK(st.options.base[1] == doctest::Approx(1.5 - 1.0).epsilon(1e-6));
  CHECK(st.options.base[2] == doctest::Approx(1.0 - 0.8).epsilon(1e-6));
}

TEST_CASE("consumers: privacy cost theta*rho lowers a service's choice probability") {
  // theta constant 2: V_k - theta*e_k, e_a = 0.3, e_b = 0.1 (consent none, JV off: rho = e)
  const Model m = market_model({{"consumers.revision_rate", "1.0"},
                                {"consumers.privacy_sensitivity", "{ dist = \"constant\", value = 2.0 }"}});
  State st = initial_state(m, 1);
  step(m, st);
  const std::vector<double> v{0.0, 1.5 - 1.0 - 2.0 * 0.3, 1.0 - 0.8 - 2.0 * 0.1};
  double total = 0;
  for (double x : v) total += std::exp(x);
  const double n = m.consumers;
  for (int j = 0; j < 3; ++j) {
    CAPTURE(j);
    const double p = std::exp(v[j]) / total;
    const double count = static_cast<double>(std::count(st.consumers.choice.begin(), st.consumers.choice.end(), j));
    POLICYSIM_CHECK_NEAR(count, n * p, binomial_tol(n, p));
  }
  // privacy harm: theta * e_k summed over the users of each service
  POLICYSIM_CHECK_NEAR(st.totals.harm, 2.0 * (0.3 * st.services.users[0] + 0.1 * st.services.users[1]),
                       1e-6 * st.totals.harm);
}

TEST_CASE("consumers: a sector of nine services among five sectors follows the logit and the logsum") {
  // More than eight options and more than four sectors take the pass's general kernel and its
  // one-at-a-time choice codes; sector "s0" has nine services of spread qualities, the others one.
  std::string toml = "[scenario]\nname = \"wide\"\nseed = 11\n[consumers]\ncount = 30000\nrevision_rate = 1.0\n"
                     "switching_cost = 0.0\nprivacy_sensitivity = { dist = \"constant\", value = 0.0 }\n";
  for (int s = 0; s < 5; ++s)
    toml += fmt::format("[[sector]]\nname = \"s{}\"\ndata_weight = 0.0\ninnovation_weight = 0.0\n", s);
  for (int f = 0; f < 9; ++f) {
    toml += fmt::format("[[firm]]\nname = \"F{}\"\npricing = \"fixed\"\n", f);
    toml += fmt::format("  [[firm.service]]\n  name = \"a{}\"\n  sector = \"s0\"\n  base_quality = {}\n  price = 1.0\n"
                        "  initial_share = 0.1\n", f, 0.25 * f);
    if (f >= 1 && f <= 4)
      toml += fmt::format("  [[firm.service]]\n  name = \"b{}\"\n  sector = \"s{}\"\n  base_quality = 1.0\n  price = 1.0\n"
                          "  initial_share = 0.5\n", f, f);
  }
  const Model m = build_model(scenario_from(toml));
  REQUIRE(m.sectors == 5);
  REQUIRE(m.option_offset[1] - m.option_offset[0] == 10);
  State st = initial_state(m, 1);
  step(m, st);
  check_logit_shares(m, st);
  const auto w = option_weights(m, st);
  double total = 0;
  for (double x : w) total += x;
  const double n = m.consumers;
  // surplus of sector s0: ln(sum of weights) / alpha for every consumer
  POLICYSIM_CHECK_NEAR(st.totals.sector_cs[0], n * std::log(total) / m.scenario.consumers.price_sensitivity,
                       1e-6 * n * std::abs(std::log(total)));
  // without revision every code goes back where it was read from
  const Model still = build_model(scenario_from(toml, {{"consumers.revision_rate", "0.0"}}));
  State kept = initial_state(still, 1);
  const auto before = kept.consumers.choice;
  step(still, kept);
  step(still, kept);
  CHECK(kept.consumers.choice == before);
}

TEST_CASE("consumers: consenting users of a contributing firm bear the JV risk c_i*m_f*rho_JV") {
  // JV on, mandate 1 for A only; opt_out with consent fixed (revision 0) at 1 for even
  // consumers, 0 for odd: the consenting users of A see e_a + rho_JV.
  const Model m = market_model({{"consumers.revision_rate", "0.0"},
                                {"consumers.privacy_sensitivity", "{ dist = \"constant\", value = 1.0 }"},
                                {"regulator.consent", "opt_out"},
                                {"jv.enabled", "true"},
                                {"jv.members", "{ A = 0.1 }"},
                                {"regulator.sharing_mandate", "1.0"}});
  State st = initial_state(m, 1);
  for (std::uint32_t i = 0; i < m.consumers; ++i) st.consumers.consent[i] = i % 2 == 0;
  step(m, st);
  const double rho = jv_risk(m.scenario.jv);
  double expected = 0;
  for (std::uint32_t i = 0; i < m.consumers; ++i) {
    const int c = st.consumers.consent[i];
    if (st.consumers.choice[i] == 1) expected += 0.3 + c * 1.0 * rho;
    if (st.consumers.choice[i] == 2) expected += 0.1;
  }
  POLICYSIM_CHECK_NEAR(st.totals.harm, expected, 1e-6 * expected);
  CHECK(st.options.risk[2 * 1 + 1] == doctest::Approx(0.3 + rho).epsilon(1e-6));
  CHECK(st.options.risk[2 * 1 + 0] == doctest::Approx(0.3).epsilon(1e-6));
  CHECK(st.options.risk[2 * 2 + 1] == doctest::Approx(0.1).epsilon(1e-6));
}

TEST_CASE("consumers: surplus is the logsum of utilities over alpha, without the switching bonus") {
  const Model m = market_model({{"consumers.privacy_sensitivity", "{ dist = \"constant\", value = 0.5 }"},
                                {"consumers.price_sensitivity", "2.0"},
                                {"consumers.switching_cost", "1.0"}});
  const State st = run_steps(m, 1);
  const double alpha = 2.0;
  const double logsum = std::log(std::exp(0.0) + std::exp(1.5 - alpha * 1.0 - 0.5 * 0.3) +
                                 std::exp(1.0 - alpha * 0.8 - 0.5 * 0.1));
  POLICYSIM_CHECK_NEAR(st.totals.cs / m.consumers, logsum / alpha, 1e-5);
  POLICYSIM_CHECK_NEAR(st.totals.sector_cs[0], st.totals.cs, 1e-9 * std::abs(st.totals.cs));
}

TEST_CASE("consumers: surplus over consumers of every size of total matches the logsums recomputed in double") {
  // With the outside option far behind, privacy sensitivities from 0 to 800 spread the totals
  // over some 115 binades, down past the rescale at 2^-100; about half the consumers consent.
  // The pass keeps the surplus as products of mantissas and sums of exponents: an exponent lost
  // or counted twice is off by ln 2 per consumer.
  const Model m = market_model({{"consumers.privacy_sensitivity", "{ dist = \"uniform\", low = 0.0, high = 800.0 }"},
                                {"consumers.count", "30011"},
                                {"sector.ecommerce.outside_utility", "-100.0"},
                                {"consumers.price_sensitivity", "2.0"},
                                {"regulator.consent", "opt_out"},
                                {"consumers.consent_revision_rate", "0.5"},
                                {"jv.enabled", "true"},
                                {"jv.members", "{ A = 0.1 }"},
                                {"regulator.sharing_mandate", "1.0"}});
  const State st = run_steps(m, 1);
  const auto& opt = st.options;
  double expected = 0;
  for (std::uint32_t i = 0; i < m.consumers; ++i) {
    const double theta = st.consumers.privacy[i], c = st.consumers.consent[i];
    std::vector<double> u;
    for (int o = m.option_offset[0]; o < m.option_offset[1]; ++o) {
      if (!opt.open[o]) continue;
      const double risk = o == m.option_offset[0] ? 0.0 : opt.risk[2 * o] + c * (opt.risk[2 * o + 1] - opt.risk[2 * o]);
      u.push_back(static_cast<double>(opt.base[o]) - theta * risk);
    }
    const double top = *std::max_element(u.begin(), u.end());
    double total = 0;
    for (double x : u) total += std::exp(x - top);
    expected += (top + std::log(total)) / 2.0;
  }
  CHECK(st.totals.nonfinite == 0);
  POLICYSIM_CHECK_NEAR(st.totals.cs, expected, 1e-6 * std::abs(expected));
}

TEST_CASE("consumers: a consumer whose every weight underflows gets the exact logsum and logit choice") {
  // theta = 1000 puts both services 100 and 300 below the best base utility, and the outside
  // option 100.5 below it: every weight relative to the sector's shift is below 2^-100.
  const Model m = market_model({{"consumers.privacy_sensitivity", "{ dist = \"constant\", value = 1000.0 }"},
                                {"sector.ecommerce.outside_utility", "-100.0"},
                                {"consumers.revision_rate", "1.0"}});
  const State st = run_steps(m, 1);
  const double ua = 1.5 - 1.0 - 1000 * 0.3, ub = 1.0 - 0.8 - 1000 * 0.1, u0 = -100.0;
  const double logsum = std::log(std::exp(u0) + std::exp(ua) + std::exp(ub));
  POLICYSIM_CHECK_NEAR(st.totals.cs / m.consumers, logsum, 1e-5 * std::abs(logsum));
  // b against the outside option: logistic(ub - u0); a is e^-200 behind
  std::int64_t on_b = 0;
  for (auto c : st.consumers.choice) on_b += c == 2;
  const double p = logistic(ub - u0), n = m.consumers;
  POLICYSIM_CHECK_NEAR(static_cast<double>(on_b), n * p, binomial_tol(n, p));
}

TEST_CASE("consumers: data flow is the sum of activity*data_intensity over users, over N") {
  const Model m = market_model({{"consumers.revision_rate", "0.3"},
                                {"consumers.consent_revision_rate", "0.5"},
                                {"regulator.consent", "opt_out"},
                                {"consumers.privacy_sensitivity", "{ dist = \"constant\", value = 3.0 }"},
                                {"jv.enabled", "true"}});
  State st = initial_state(m, 1);
  step(m, st);
  std::vector<double> users(2, 0.0), flow(2, 0.0), consented(2, 0.0);
  for (std::uint32_t i = 0; i < m.consumers; ++i) {
    const int c = st.consumers.choice[i];
    if (c == 0) continue;
    const double d = static_cast<double>(st.consumers.activity[i]) * 2.5;
    users[c - 1] += 1;
    flow[c - 1] += d;
    if (st.consumers.consent[i]) consented[c - 1] += d;
  }
  const double n = m.consumers;
  for (int k = 0; k < 2; ++k) {
    CAPTURE(k);
    CHECK(st.services.users[k] == users[k]);
    POLICYSIM_CHECK_NEAR(st.services.data_flow[k], flow[k] / n, 1e-6 * flow[k] / n);
    POLICYSIM_CHECK_NEAR(st.services.consented_flow[k], consented[k] / n, 1e-6 * consented[k] / n);
    CHECK(st.services.consented_flow[k] < st.services.data_flow[k]);  // some consumers opted out
  }
}

TEST_CASE("consumers: peer term adds peer_weight times the share of neighbours on the service") {
  // Ring lattice of degree 10 (rewire 0), choices laid out in alternating blocks of 50 on a
  // and b; the outside option is out of reach (u0 = -30) and nobody is outside, so n_i0 = 0.
  // Every consumer revises (switching_cost 0): P_i(k) = exp(V_k + w n_ik) / sum_l exp(V_l + w n_il).
  const double w = 2.0;
  const Model m = market_model({{"consumers.revision_rate", "1.0"},
                                {"consumers.peer_weight", "2.0"},
                                {"sector.ecommerce.outside_utility", "-30.0"},
                                {"network.kind", "watts_strogatz"},
                                {"network.degree", "10"},
                                {"network.rewire", "0.0"}});
  State st = initial_state(m, 1);
  const std::uint32_t n = m.consumers;
  for (std::uint32_t i = 0; i < n; ++i) st.consumers.choice[i] = (i / 50) % 2 == 0 ? 1 : 2;
  const auto before = st.consumers.choice;
  step(m, st);
  const auto& base = st.options.base;
  double mean = 0, var = 0, chose_a = 0;
  double inner_mean = 0, inner_var = 0, inner_a = 0, inner = 0;  // consumers with every neighbour on a
  for (std::uint32_t i = 0; i < n; ++i) {
    double on_a = 0;
    for (int d = 1; d <= 5; ++d) on_a += (before[(i + d) % n] == 1) + (before[(i + n - d) % n] == 1);
    const double na = on_a / 10, nb = 1 - na;
    const double ea = std::exp(base[1] + w * na), eb = std::exp(base[2] + w * nb), e0 = std::exp(base[0]);
    const double p = ea / (e0 + ea + eb);
    mean += p;
    var += p * (1 - p);
    chose_a += st.consumers.choice[i] == 1;
    if (on_a == 10) {
      inner += 1;
      inner_mean += p;
      inner_var += p * (1 - p);
      inner_a += st.consumers.choice[i] == 1;
    }
  }
  POLICYSIM_CHECK_NEAR(chose_a, mean, 5 * std::sqrt(var));
  POLICYSIM_CHECK_NEAR(inner_a, inner_mean, 5 * std::sqrt(inner_var));
  // without the peer term those consumers would pick a with exp(V_a)/(exp(V_a)+exp(V_b))
  const double plain = std::exp(base[1]) / (std::exp(base[1]) + std::exp(base[2]));
  CHECK(inner_a > inner * plain + 5 * std::sqrt(inner * plain * (1 - plain)) + 5 * std::sqrt(inner_var));
}

TEST_CASE("consumers: peer term applies to services only, not to the outside option") {
  // MODEL.md 2c: V_ik = ... + peer_weight*n_ik for services, V_i0 = outside_utility_s.
  // Everyone starts outside, so n_ia = 0 for all and P(a) = exp(V_a) / (exp(u0) + exp(V_a)).
  const Model m = market_model({{"consumers.revision_rate", "1.0"},
                                {"consumers.peer_weight", "2.0"},
                                {"firm.A.service.a.initial_share", "0.0"},
                                {"firm.B.service.b.initial_share", "0.0"},
                                {"network.kind", "watts_strogatz"},
                                {"network.degree", "10"},
                                {"network.rewire", "0.0"}});
  State st = initial_state(m, 1);
  REQUIRE(st.services.users[0] + st.services.users[1] == 0);
  step(m, st);
  const auto& base = st.options.base;
  const double e0 = std::exp(base[0]), ea = std::exp(base[1]), eb = std::exp(base[2]);
  const double n = m.consumers;
  const double p = ea / (e0 + ea + eb);
  POLICYSIM_CHECK_NEAR(st.services.users[0], n * p, binomial_tol(n, p));
}

TEST_CASE("consumers: peer counts in one word per consumer and the general count give the same run") {
  const Model few = build_model(scenario_from(kPopulation, {{"consumers.revision_rate", "0.4"},
                                                           {"consumers.peer_weight", "1.5"},
                                                           {"network.kind", "watts_strogatz"},
                                                           {"network.degree", "12"},
                                                           {"network.rewire", "0.2"}}));
  // the bench market, three sectors of four services: twelve fields, both halves of the word
  BenchOptions bench;
  bench.consumers = 6000;
  bench.network = "watts_strogatz";
  Scenario twelve = bench_scenario(bench);
  twelve.consumers.revision_rate = 0.4;
  twelve.consumers.peer_weight = 1.5;
  twelve.network.rewire = 0.3;
  const Model many = build_model(twelve);
  for (const Model* m : {&few, &many}) {
    CAPTURE(m->services);
    const State words = run_steps(*m, 6);
    use_general_peer_count(true);
    const State general = run_steps(*m, 6);
    use_general_peer_count(false);
    CHECK(words.consumers.choice == general.consumers.choice);
    CHECK(words.totals.cs == general.totals.cs);
    CHECK(words.services.users == general.services.users);
    CHECK(words.peer_words.size() == m->consumers);
    CHECK(general.peer_words.empty());
  }
}

TEST_CASE("consumers: weights a group of lanes at a time or an option at a time give the same run") {
  // open sectors of two and three options; without peers, with one-word and with general peer
  // counts
  for (const char* network : {"none", "watts_strogatz"})
  for (bool general_peers : {false, true}) {
    CAPTURE(network);
    CAPTURE(general_peers);
    const Model m = build_model(scenario_from(kPopulation, {{"consumers.revision_rate", "0.3"},
                                                           {"consumers.peer_weight", "1.5"},
                                                           {"regulator.consent", "opt_in"},
                                                           {"network.kind", network}}));
    use_general_peer_count(general_peers);
    const State grouped = run_steps(m, 5);
    use_general_weights(true);
    const State general = run_steps(m, 5);
    use_general_weights(false);
    use_general_peer_count(false);
    CHECK(grouped.consumers.choice == general.consumers.choice);
    CHECK(grouped.totals.cs == general.totals.cs);
    CHECK(grouped.totals.harm == general.totals.harm);
    CHECK(grouped.services.users == general.services.users);
  }
}

TEST_CASE("consumers: revisers visited one at a time or every group drawn in vector lanes give the same run") {
  // revision rates on both sides of the automatic choice, with consent revised too; sparse
  // takes each reviser's consent draw and pick alone; with data moving with switchers or not
  for (const char* portability : {"0", "0.4"})
  for (const char* rate : {"0.002", "0.1", "0.6"}) {
    CAPTURE(rate);
    CAPTURE(portability);
    const Model m = build_model(scenario_from(kPopulation, {{"consumers.revision_rate", rate},
                                                           {"consumers.consent_revision_rate", rate},
                                                           {"regulator.consent", "opt_in"},
                                                           {"regulator.portability", portability}}));
    const State automatic = run_steps(m, 5);
    use_revisers(Revisers::kSparse);
    const State sparse = run_steps(m, 5);
    use_revisers(Revisers::kDense);
    const State dense = run_steps(m, 5);
    use_revisers(Revisers::kAuto);
    for (const State* st : {&sparse, &dense}) {
      CHECK(st->consumers.choice == automatic.consumers.choice);
      CHECK(st->consumers.consent == automatic.consumers.consent);
      CHECK(st->totals.cs == automatic.totals.cs);
      CHECK(st->services.users == automatic.services.users);
    }
    // the run revises: choices moved from the initial ones
    CHECK(automatic.consumers.choice != initial_state(m, 1).consumers.choice);
  }
}

TEST_CASE("consumers: peer effects on a Watts-Strogatz network raise concentration") {
  // Pure logit market (no data effect, fixed prices) with two identical services: without
  // peers the shares relax to 50/50; with peers the initial leader keeps more of the sector.
  auto hhi = [](double peer) {
    const Model m = market_model({{"consumers.revision_rate", "0.3"},
                                  {"consumers.peer_weight", fmt::format("{}", peer)},
                                  {"firm.B.service.b.base_quality", "1.3"},
                                  {"firm.B.service.b.price", "0.8"},
                                  {"firm.A.service.a.base_quality", "1.3"},
                                  {"firm.A.service.a.price", "0.8"},
                                  {"firm.A.service.a.initial_share", "0.6"},
                                  {"firm.B.service.b.initial_share", "0.3"},
                                  {"network.kind", "watts_strogatz"},
                                  {"network.degree", "10"},
                                  {"network.rewire", "0.1"}});
    const State st = run_steps(m, 30);
    double h = 0;
    for (int k = 0; k < 2; ++k) h += 10000 * st.services.sector_share[k] * st.services.sector_share[k];
    return h;
  };
  const double without = hhi(0.0), with = hhi(3.0);
  // without peers the sector share s of a is 1/2 up to sampling noise over the ~N*2e^0.5/(1+2e^0.5)
  // inside consumers; HHI = 5000 + 20000 (s - 1/2)^2
  const double inside = 20000 * 2 * std::exp(0.5) / (1 + 2 * std::exp(0.5));
  const double five_se = 5 * std::sqrt(0.25 / inside);
  CHECK(without <= 5000 + 20000 * five_se * five_se);
  CHECK(with > without + 500);
}

TEST_CASE("consumers: portability brings a switcher's history, portability*a_i*intensity/depreciation") {
  // nobody is outside (u0 = -30), so every switch is between services
  const std::vector<Override> common{{"consumers.revision_rate", "0.3"},
                                     {"sector.ecommerce.outside_utility", "-30.0"},
                                     {"firm.A.service.a.initial_share", "0.6"},
                                     {"firm.B.service.b.initial_share", "0.4"}};
  SUBCASE("portability 0: nothing is ported though consumers switch") {
    const Model m = market_model(common);
    State st = initial_state(m, 1);
    const auto before = st.consumers.choice;
    step(m, st);
    CHECK(changed(before, st.consumers.choice) > 1000);
    CHECK(st.services.ported[0] == 0.0);
    CHECK(st.services.ported[1] == 0.0);
  }
  SUBCASE("portability 0.5: switchers to k bring their history to k") {
    auto o = common;
    o.push_back({"regulator.portability", "0.5"});
    const Model m = market_model(o);
    State st = initial_state(m, 1);
    const auto before = st.consumers.choice;
    step(m, st);
    const double per_activity = 0.5 * 2.5 / 0.05;
    std::vector<double> ported(2, 0.0);
    for (std::uint32_t i = 0; i < m.consumers; ++i)
      if (st.consumers.choice[i] != before[i])
        ported[st.consumers.choice[i] - 1] += static_cast<double>(st.consumers.activity[i]) * per_activity;
    for (int k = 0; k < 2; ++k) {
      CAPTURE(k);
      CHECK(st.services.ported[k] > 0.0);
      POLICYSIM_CHECK_NEAR(st.services.ported[k], ported[k] / m.consumers, 1e-6 * ported[k] / m.consumers);
    }
  }
}

TEST_CASE("consumers: portability ports no history for consumers arriving from the outside option") {
  // MODEL.md 2e: a switcher brings "their history", and "the service they left keeps its
  // copy". Everyone starts outside and nobody has used a service: there is no history to
  // port, so ported must stay 0 while D_k grows by the flow alone.
  const Model m = market_model({{"consumers.revision_rate", "0.5"},
                                {"regulator.portability", "0.5"},
                                {"firm.A.service.a.initial_share", "0.0"},
                                {"firm.B.service.b.initial_share", "0.0"}});
  State st = initial_state(m, 1);
  step(m, st);
  REQUIRE(st.services.users[0] > 0.0);
  CHECK(st.services.ported[0] == 0.0);
  CHECK(st.services.ported[1] == 0.0);
}

}  // namespace policysim::test
