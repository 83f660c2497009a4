#include "population.hpp"

#include <algorithm>

#include <random>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

namespace policysim {

double sample(const Distribution& d, CounterEngine& engine) {
  const auto& p = d.param;
  switch (d.kind) {
    case DistKind::kConstant: return p[0];
    case DistKind::kUniform: return boost::random::uniform_real_distribution<double>(p[0], p[1])(engine);
    case DistKind::kBeta: {
      // X/(X+Y) of two gammas; the standard library's gamma (Marsaglia-Tsang) is several
      // times faster than Boost's, which matters at 10^8 consumers
      const double x = std::gamma_distribution<double>(p[0])(engine);
      const double y = std::gamma_distribution<double>(p[1])(engine);
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
  c.privacy.resize(n);
  c.activity.resize(n);
  c.trust.assign(n, static_cast<float>(sc.consumers.initial_trust));
  c.consent.assign(n, sc.regulator.consent == ConsentRegime::kOptIn ? 0 : 1);
  c.choice.resize(static_cast<std::size_t>(n) * sectors);
  if (sc.network.kind != NetworkKind::kNone) c.previous.resize(c.choice.size());

  // Cumulative initial shares per sector, over the choice codes 1..K_s.
  std::vector<std::vector<double>> cumulative(sectors);
  for (int s = 0; s < sectors; ++s) {
    double acc = 0;
    for (int k : m.sector_services[s]) cumulative[s].push_back(acc += m.service(sc, k).initial_share);
  }
  const std::int64_t total = n;
#pragma omp parallel for schedule(static)
  for (std::int64_t i64 = 0; i64 < total; ++i64) {
    const auto i = static_cast<std::uint32_t>(i64);
    CounterEngine attributes(st.key, Stream::kPopulation, 0, i);
    c.privacy[i] = static_cast<float>(std::max(0.0, sample(sc.consumers.privacy_sensitivity, attributes)));
    c.activity[i] = static_cast<float>(std::max(0.0, sample(sc.consumers.activity, attributes)));
    for (int s = 0; s < sectors; ++s) {
      const Lanes lanes = draw(st.key, Stream::kInitialChoice, 0, i, static_cast<std::uint32_t>(s / 4));
      const double u = to_unit(lanes[s % 4]);
      const auto& cum = cumulative[s];
      const auto code = std::upper_bound(cum.begin(), cum.end(), u) - cum.begin();
      // past the last cumulative share: the outside option
      c.choice[static_cast<std::size_t>(i) * sectors + s] =
          code == static_cast<std::ptrdiff_t>(cum.size()) ? 0 : static_cast<std::uint8_t>(code + 1);
    }
  }
}

}  // namespace policysim
