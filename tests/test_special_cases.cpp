// The special cases of MODEL.md section 8, with tolerances derived from the sampling error.
#include <omp.h>

#include <numeric>

#include "helpers.hpp"
#include "jv.hpp"
#include "policysim/metrics.hpp"

using namespace policysim;
using namespace policysim::test;

namespace {

// No data, no innovation, fixed prices, no network, no switching cost, no privacy term; every
// consumer revises every step, so each step's choices are fresh independent logit draws.
const char* kPureLogit = R"(
[scenario]
name = "pure-logit"
steps = 60
[consumers]
count = 20000
revision_rate = 1.0
switching_cost = 0.0
price_sensitivity = 1.3
quality_weight = 0.8
privacy_sensitivity = { dist = "constant", value = 0.0 }
[[sector]]
name = "s"
outside_utility = 0.3
data_weight = 0.0
innovation_weight = 0.0
[[firm]]
name = "A"
pricing = "fixed"
  [[firm.service]]
  name = "a"
  base_quality = 1.0
  price = 0.5
  initial_share = 0.9
[[firm]]
name = "B"
pricing = "fixed"
  [[firm.service]]
  name = "b"
  base_quality = 0.5
  price = 0.2
[[firm]]
name = "C"
pricing = "fixed"
  [[firm.service]]
  name = "c"
  base_quality = 2.0
  price = 1.5
)";

}  // namespace

TEST_CASE("special cases: pure logit shares equal the logit probabilities") {
  const Model m = build_model(scenario_from(kPureLogit));
  const auto& p = m.scenario;
  const double alpha = p.consumers.price_sensitivity, qw = p.consumers.quality_weight;
  std::vector<double> expu{std::exp(p.sectors[0].outside_utility)};
  for (int k = 0; k < m.services; ++k)
    expu.push_back(std::exp(qw * m.service(p, k).base_quality - alpha * m.service(p, k).price));
  const double total = std::accumulate(expu.begin(), expu.end(), 0.0);

  State st = initial_state(m, 1);
  const int burn_in = 10, steps = static_cast<int>(m.steps);
  std::vector<double> mean_share(m.services, 0.0);
  for (int t = 0; t < steps; ++t) {
    step(m, st);
    // the logsum surplus is the same for every consumer here: ln(sum exp V) / alpha
    POLICYSIM_CHECK_NEAR(st.totals.sector_cs[0] / m.consumers, std::log(total) / alpha, 1e-5);
    if (t < burn_in) continue;
    for (int k = 0; k < m.services; ++k) mean_share[k] += st.services.share[k] / (steps - burn_in);
  }
  // T independent binomial(N, p) draws: the mean share has sd sqrt(p(1-p)/(N T))
  const double draws = static_cast<double>(m.consumers) * (steps - burn_in);
  for (int k = 0; k < m.services; ++k) {
    const double expected = expu[k + 1] / total;
    POLICYSIM_CHECK_NEAR(mean_share[k], expected, 5.0 * std::sqrt(expected * (1 - expected) / draws));
  }
}

TEST_CASE("special cases: symmetric logit-Bertrand prices converge to c + P/(alpha (P-1))") {
  const int firms = 3;
  std::string toml = R"(
[scenario]
name = "bertrand"
steps = 150
[consumers]
count = 20000
revision_rate = 1.0
switching_cost = 0.0
price_sensitivity = 1.0
privacy_sensitivity = { dist = "constant", value = 0.0 }
[[sector]]
name = "s"
outside_utility = -40.0
data_weight = 0.0
innovation_weight = 0.0
)";
  for (int f = 0; f < firms; ++f)
    toml += fmt::format(R"(
[[firm]]
name = "F{0}"
pricing = "best_response"
price_adjustment = 0.2
  [[firm.service]]
  name = "f{0}"
  price = 1.0
  marginal_cost = 0.5
  initial_share = 0.3
)", f);
  const Model m = build_model(scenario_from(toml));
  State st = run_steps(m, m.steps);
  const double alpha = 1.0, cost = 0.5, s = 1.0 / firms;
  const double expected = cost + firms / (alpha * (firms - 1));
  // target price noise: dp/ds = 1/(alpha (1-s)^2) times the share's binomial sd, smoothed by
  // the partial adjustment (stationary sd of an EWMA with weight a: sqrt(a/(2-a)))
  const double a = 0.2;
  const double sd = std::sqrt(a / (2 - a)) / (alpha * (1 - s) * (1 - s)) * std::sqrt(s * (1 - s) / m.consumers);
  for (int k = 0; k < m.services; ++k) POLICYSIM_CHECK_NEAR(st.services.price[k], expected, 5 * sd);
}

TEST_CASE("special cases: asymmetric logit-Bertrand prices reach the Nash fixed point") {
  const Model m = build_model(scenario_from(R"(
[scenario]
name = "bertrand-outside"
steps = 200
[consumers]
count = 20000
revision_rate = 1.0
switching_cost = 0.0
price_sensitivity = 1.5
privacy_sensitivity = { dist = "constant", value = 0.0 }
[[sector]]
name = "s"
outside_utility = 0.0
data_weight = 0.0
innovation_weight = 0.0
[[firm]]
name = "A"
price_adjustment = 0.3
  [[firm.service]]
  name = "a"
  base_quality = 2.0
  marginal_cost = 0.4
  initial_share = 0.3
[[firm]]
name = "B"
price_adjustment = 0.3
  [[firm.service]]
  name = "b"
  base_quality = 1.0
  marginal_cost = 0.2
  initial_share = 0.3
)"));
  // The Nash prices, by iterating the best response on exact logit shares.
  const double alpha = 1.5;
  std::vector<double> q{2.0, 1.0}, c{0.4, 0.2}, p{1.0, 1.0}, s(2);
  for (int it = 0; it < 10000; ++it) {
    const double e0 = std::exp(q[0] - alpha * p[0]), e1 = std::exp(q[1] - alpha * p[1]);
    s = {e0 / (1 + e0 + e1), e1 / (1 + e0 + e1)};
    for (int k = 0; k < 2; ++k) p[k] = 0.5 * p[k] + 0.5 * (c[k] + 1 / (alpha * (1 - s[k])));
  }
  State st = run_steps(m, m.steps);
  for (int k = 0; k < 2; ++k) {
    const double a = 0.3;
    const double sd = std::sqrt(a / (2 - a)) / (alpha * (1 - s[k]) * (1 - s[k])) * std::sqrt(s[k] * (1 - s[k]) / m.consumers);
    POLICYSIM_CHECK_NEAR(st.services.price[k], p[k], 5 * sd);
    // the fixed-point condition on the run's own shares
    CHECK(st.services.price[k] >= c[k]);
  }
}

TEST_CASE("special cases: with constant users the data stock reaches data_k / (N depreciation)") {
  const Model m = build_model(scenario_from(R"(
[scenario]
name = "data-steady"
steps = 150
[consumers]
count = 5000
revision_rate = 0.0
[[sector]]
name = "s"
depreciation = 0.2
data_intensity = 1.7
[[firm]]
name = "A"
  [[firm.service]]
  name = "a"
  initial_share = 0.6
  initial_data = 30.0
[[firm]]
name = "B"
  [[firm.service]]
  name = "b"
  initial_share = 0.3
)"));
  const State st = run_steps(m, m.steps);
  for (int k = 0; k < m.services; ++k) {
    const double steady = st.services.data_flow[k] / 0.2;
    CHECK(st.services.data_flow[k] > 0);
    // geometric convergence: |D_t - D*| = 0.8^t |D_0 - D*| < 1e-12 relative after 150 steps
    POLICYSIM_CHECK_NEAR(st.services.data[k], steady, 1e-9 * steady);
  }
}

TEST_CASE("special cases: JV inflow and dividends satisfy the accounting identities every step") {
  const Model m = build_model(scenario_from(R"(
[scenario]
name = "accounting"
steps = 40
[consumers]
count = 5000
[[sector]]
name = "s"
[[sector]]
name = "t"
[[firm]]
name = "A"
  [[firm.service]]
  name = "a"
  sector = "s"
  initial_share = 0.5
  [[firm.service]]
  name = "a2"
  sector = "t"
  initial_share = 0.4
[[firm]]
name = "B"
  [[firm.service]]
  name = "b"
  sector = "s"
  initial_share = 0.3
[[firm]]
name = "C"
  [[firm.service]]
  name = "c"
  sector = "t"
  initial_share = 0.3
[jv]
enabled = true
members = { A = 0.2, B = 0.15 }
state_share = 0.4
access = "licensed"
access_fee = 0.05
anonymization = 0.35
[regulator]
consent = "opt_in"
sharing_mandate = 0.6
mandate_scope = "all"
)"));
  State st = initial_state(m, 1);
  const double anonymization = 0.35, members = 0.2 + 0.15;
  for (int t = 0; t < m.steps; ++t) {
    step(m, st);
    double contributed = 0, dividends = 0;
    for (int k = 0; k < m.services; ++k) contributed += st.services.contribution[k];
    for (int f = 0; f < m.firms; ++f) dividends += st.firms.dividends[f];
    CHECK(contributed > 0);
    POLICYSIM_CHECK_NEAR(contributed * (1 - anonymization), st.jv.inflow, 1e-12 * st.jv.inflow);
    POLICYSIM_CHECK_NEAR(dividends, st.jv.revenue * members, 1e-12 * st.jv.revenue + 1e-300);
    if (t > 0) CHECK(st.jv.revenue > 0);
  }
}

namespace {

// Every model part switched on, with a network, over several reduction chunks.
std::string all_parts(const char* network) {
  return fmt::format(R"(
[scenario]
name = "all-parts"
steps = 25
[consumers]
count = 40000
peer_weight = 0.5
[network]
kind = "{}"
degree = 6
[[sector]]
name = "s"
[[sector]]
name = "t"
data_returns = "saturating"
[[firm]]
name = "A"
  [[firm.service]]
  name = "a"
  sector = "s"
  initial_share = 0.6
  [[firm.service]]
  name = "a2"
  sector = "t"
  initial_share = 0.5
[[firm]]
name = "B"
  [[firm.service]]
  name = "b"
  sector = "s"
  initial_share = 0.2
[[firm]]
name = "E"
enter_at = 5
  [[firm.service]]
  name = "e"
  sector = "t"
  base_quality = 1.5
[jv]
enabled = true
members = {{ A = 0.3, B = 0.2 }}
participation = "voluntary"
[regulator]
consent = "opt_in"
portability = 0.3
[regulator.antitrust]
enabled = true
persistence = 3
remedy_mandate = 0.4
[regulator.breach]
base_rate = 0.2
[[policy]]
at = 10
set = {{ "regulator.consent" = "opt_out", "jv.access" = "all" }}
)", network);
}

}  // namespace

TEST_CASE("special cases: the state is identical for 1 and 2 threads") {
  for (const char* network : {"none", "watts_strogatz", "barabasi_albert"}) {
    CAPTURE(network);
    const Model m = build_model(scenario_from(all_parts(network)));
    std::vector<std::uint64_t> digests;
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      State st = initial_state(m, 1);
      std::uint64_t d = 0;
      for (int t = 0; t < m.steps; ++t) {
        step(m, st);
        d ^= state_digest(st) + 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(t);
      }
      digests.push_back(d);
    }
    CHECK(digests[0] == digests[1]);
  }
}

TEST_CASE("cli: output files are byte-identical for --threads 1 and --threads 2") {
  const auto dir = temp_dir("threads");
  write_text(dir / "all.toml", all_parts("watts_strogatz"));
  for (int threads : {1, 2}) {
    std::string out;
    const int rc = run_cli(fmt::format("run {} --out {} --threads {} --quiet", (dir / "all.toml").string(),
                                       (dir / fmt::format("t{}", threads)).string(), threads),
                           &out);
    INFO(out);
    REQUIRE(rc == 0);
  }
  for (const char* file : {"metrics.csv", "sectors.csv", "services.csv", "firms.csv"}) {
    CAPTURE(file);
    const std::string one = read_text(dir / "t1" / file);
    CHECK(!one.empty());
    CHECK(one == read_text(dir / "t2" / file));
  }
}
