#include "population.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

namespace policysim {

namespace {

// A uniform in (0, 1) from one 32-bit lane: enough resolution for an acceptance test.
double uniform(CounterEngine& engine) { return to_unit(engine()); }

// Gamma(shape, 1) by Marsaglia and Tsang's method ("A simple method for generating gamma
// variables", 2000) on Boost's ziggurat normal: about one normal and one lane per draw, and a
// logarithm only in the 2% of draws the squeeze does not settle. Below shape 1,
// Gamma(shape + 1) U^(1/shape). Several times faster than std::gamma_distribution, whose
// polar-method normals cost two uniforms and a logarithm each.
double gamma_sample(double shape, CounterEngine& engine) {
  if (shape < 1) return gamma_sample(shape + 1, engine) * std::pow(uniform(engine), 1 / shape);
  const double d = shape - 1.0 / 3.0, c = 1 / std::sqrt(9 * d);
  boost::random::normal_distribution<double> normal;
  for (;;) {
    double x = 0, v = 0;
    do {
      x = normal(engine);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = uniform(engine), x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2 || std::log(u) < 0.5 * x2 + d * (1 - v + std::log(v))) return d * v;
  }
}

}  // namespace

double sample(const Distribution& d, CounterEngine& engine) {
  const auto& p = d.param;
  switch (d.kind) {
    case DistKind::kConstant: return p[0];
    case DistKind::kUniform: return boost::random::uniform_real_distribution<double>(p[0], p[1])(engine);
    case DistKind::kBeta: {
      // X/(X+Y) of two gammas
      const double x = gamma_sample(p[0], engine);
      const double y = gamma_sample(p[1], engine);
      return p[2] * x / (x + y);
    }
    case DistKind::kLognormal:
      return p[1] == 0 ? std::exp(p[0]) : std::exp(p[0] + p[1] * boost::random::normal_distribution<double>()(engine));
    case DistKind::kNormal:
      return p[1] == 0 ? p[0] : boost::random::normal_distribution<double>(p[0], p[1])(engine);
  }
  return 0;
}

void init_population(const Model& m, State& st) {
  const auto& sc = m.scenario;
  const std::uint32_t n = m.consumers;
  const int sectors = m.sectors;
  auto& c = st.consumers;
  // uninitialised (ConsumerArray): every entry is written below, a group of consumers at a time
  c.privacy.resize(n);
  c.activity.resize(n);
  c.trust.resize(n);
  c.consent.resize(n);
  c.choice.resize(static_cast<std::size_t>(n) * sectors);
  const auto initial_trust = static_cast<float>(sc.consumers.initial_trust);
  const std::uint8_t initial_consent = sc.regulator.consent == ConsentRegime::kOptIn ? 0 : 1;

  // Cumulative initial shares per sector, over the choice codes 1..K_s, as thresholds on a
  // lane: a cumulative share is at or below the lane's uniform when the lane is at or above
  // its threshold (unit_threshold).
  std::vector<std::vector<std::int64_t>> thresholds(sectors);
  for (int s = 0; s < sectors; ++s) {
    double acc = 0;
    for (int k : m.sector_services[s]) thresholds[s].push_back(unit_threshold(acc += m.service(sc, k).initial_share));
  }
  // Consumers are drawn kIds at a time: the first kAhead blocks of their attribute streams
  // and their initial-choice blocks come from draw_batch for all of them at once; the same
  // numbers as one by one. The default beta and lognormal attributes take eight lanes (two
  // blocks) unless a rejection step asks for more, which the few that need it draw alone.
  constexpr int kIds = 8;
  constexpr std::uint32_t kAhead = 2;
  const auto choice_blocks = static_cast<std::uint32_t>((sectors + 3) / 4);
  const std::int64_t groups = (static_cast<std::int64_t>(n) + kIds - 1) / kIds;
#pragma omp parallel for schedule(static)
  for (std::int64_t group = 0; group < groups; ++group) {
    const auto first = static_cast<std::uint32_t>(group * kIds);
    const int count = static_cast<int>(std::min<std::uint32_t>(kIds, n - first));
    std::uint32_t raw[4][kIds];
    std::array<std::array<Lanes, kAhead>, kIds> ahead;
    for (std::uint32_t k = 0; k < kAhead; ++k) {
      draw_batch<kIds>(st.key, Stream::kPopulation, 0, first, k, raw);
      for (int b = 0; b < kIds; ++b) ahead[b][k] = {raw[0][b], raw[1][b], raw[2][b], raw[3][b]};
    }
    for (int b = 0; b < count; ++b) {
      const std::uint32_t i = first + static_cast<std::uint32_t>(b);
      CounterEngine attributes(st.key, Stream::kPopulation, 0, i, ahead[b].data(), kAhead);
      c.privacy[i] = static_cast<float>(std::max(0.0, sample(sc.consumers.privacy_sensitivity, attributes)));
      c.activity[i] = static_cast<float>(std::max(0.0, sample(sc.consumers.activity, attributes)));
      c.trust[i] = initial_trust;
      c.consent[i] = initial_consent;
    }
    for (std::uint32_t block = 0; block < choice_blocks; ++block) {
      draw_batch<kIds>(st.key, Stream::kInitialChoice, 0, first, block, raw);
      const int first_sector = static_cast<int>(4 * block), last = std::min(sectors, first_sector + 4);
      for (int s = first_sector; s < last; ++s) {
        // the first service whose cumulative share exceeds the lane's uniform, as a count of
        // thresholds passed (no branch to mispredict); past the last one: the outside option
        const std::uint32_t* lane = raw[s - first_sector];
        std::int64_t code[kIds] = {};
        for (const std::int64_t t : thresholds[static_cast<std::size_t>(s)])
          for (int b = 0; b < kIds; ++b) code[b] += static_cast<std::int64_t>(lane[b]) >= t ? 1 : 0;
        const auto services = static_cast<std::int64_t>(thresholds[static_cast<std::size_t>(s)].size());
        for (int b = 0; b < count; ++b)
          c.choice[static_cast<std::size_t>(first + static_cast<std::uint32_t>(b)) * sectors + s] =
              code[b] == services ? 0 : static_cast<std::uint8_t>(code[b] + 1);
      }
    }
  }
}

}  // namespace policysim
