#include "consumers.hpp"

#include <algorithm>
#include <cmath>

#include "jv.hpp"

namespace policysim {
namespace {

constexpr int kMaxOptions = 256;  // choice codes are one byte

// Offsets inside one chunk's partial sums.
struct TallyLayout {
  std::size_t users, data, consented, ported, sector_cs, trust, consent, harm, nonfinite, width;
  explicit TallyLayout(const Model& m) {
    const auto o = static_cast<std::size_t>(m.options);
    users = 0;
    data = o;
    consented = 2 * o;
    ported = 3 * o;
    sector_cs = 4 * o;
    trust = sector_cs + static_cast<std::size_t>(m.sectors);
    consent = trust + 1;
    harm = trust + 2;
    nonfinite = trust + 3;
    width = trust + 4;
  }
};

float logistic(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

std::size_t tally_width(const Model& model) { return TallyLayout(model).width; }

void prepare_options(const Model& m, const Phase& ph, State& st) {
  const auto& p = ph.params;
  auto& opt = st.options;
  const auto n = static_cast<std::size_t>(m.options);
  opt.base.assign(n, 0.0f);
  opt.risk.assign(2 * n, 0.0f);
  opt.open.assign(n, 1);
  opt.exposes.assign(n, 0);
  opt.data_per_activity.assign(n, 0.0f);
  opt.port_per_activity.assign(n, 0.0f);
  for (int s = 0; s < m.sectors; ++s) opt.base[m.option_offset[s]] = static_cast<float>(p.sectors[s].outside_utility);
  const double rho_jv = p.jv.enabled ? jv_risk(p.jv) : 0.0;
  for (int k = 0; k < m.services; ++k) {
    const int f = m.service_firm[k];
    const auto& sec = m.sector_of(p, k);
    const auto o = static_cast<std::size_t>(m.option_offset[m.service_sector[k]] + m.service_option[k]);
    const double rate = st.firms.contribution_rate[f];
    const double e = m.service(p, k).extraction;
    opt.open[o] = st.services.active[k];
    opt.base[o] = static_cast<float>(p.consumers.quality_weight * st.services.quality[k] -
                                     p.consumers.price_sensitivity * st.services.price[k]);
    opt.risk[2 * o] = static_cast<float>(e);
    opt.risk[2 * o + 1] = static_cast<float>(e + rate * rho_jv);
    opt.exposes[o] = static_cast<std::uint8_t>((st.firms.breached[f] ? 1 : 0) |
                                               (st.jv.breached && rate > 0 ? 2 : 0));
    opt.data_per_activity[o] = static_cast<float>(sec.data_intensity);
    opt.port_per_activity[o] = static_cast<float>(p.regulator.portability * sec.data_intensity / sec.depreciation);
  }
}

void consumer_pass(const Model& m, const Phase& ph, State& st) {
  const auto& p = ph.params;
  const TallyLayout tl(m);
  const std::uint32_t n = m.consumers;
  const int sectors = m.sectors;
  const auto chunks = static_cast<std::int64_t>((n + kChunk - 1) / kChunk);
  st.partials.assign(static_cast<std::size_t>(chunks) * tl.width, 0.0);

  const auto& opt = st.options;
  const auto& off = m.option_offset;
  auto& cons = st.consumers;
  const Network& net = st.network;
  const bool peers = !net.empty() && p.consumers.peer_weight != 0.0;
  if (!net.empty()) cons.previous = cons.choice;  // peers read last step's choices

  const auto alpha = static_cast<float>(p.consumers.price_sensitivity);
  const auto peer_weight = static_cast<float>(p.consumers.peer_weight);
  const auto switch_bonus = static_cast<float>(std::exp(p.consumers.switching_cost));
  const std::uint64_t revise_cut = threshold(p.consumers.revision_rate);
  const std::uint64_t consent_cut = threshold(p.consumers.consent_revision_rate);
  const ConsentRegime regime = p.regulator.consent;
  const auto trust_weight = static_cast<float>(p.consent.trust_weight);
  const auto consent_shift = static_cast<float>(
      p.consent.benefit + (regime == ConsentRegime::kOptOut ? p.consent.default_bias : 0.0));
  const auto rho_jv = static_cast<float>(p.jv.enabled ? jv_risk(p.jv) : 0.0);
  const auto trust_target = static_cast<float>(p.consumers.initial_trust);
  const auto recovery = static_cast<float>(p.regulator.breach.trust_recovery);
  const auto shock = static_cast<float>(p.regulator.breach.trust_shock);
  const auto step = static_cast<std::uint32_t>(st.step);
  const std::uint32_t blocks = (2 + 2 * static_cast<std::uint32_t>(sectors) + 3) / 4;
  const RngKey key = st.key;

#pragma omp parallel
  {
    std::vector<std::uint32_t> lanes(4 * static_cast<std::size_t>(blocks));
    float utility[kMaxOptions];
    float weight[kMaxOptions];
    float peer[kMaxOptions];
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
      double* t = &st.partials[static_cast<std::size_t>(chunk) * tl.width];
      const auto first = static_cast<std::uint32_t>(chunk) * kChunk;
      const std::uint32_t last = std::min(n, first + kChunk);
      for (std::uint32_t i = first; i < last; ++i) {
        for (std::uint32_t b = 0; b < blocks; ++b) {
          const Lanes r = draw(key, Stream::kConsumer, step, i, b);
          std::copy(r.begin(), r.end(), lanes.begin() + 4 * b);
        }
        std::uint8_t* choice = &cons.choice[static_cast<std::size_t>(i) * sectors];
        const float theta = cons.privacy[i];
        const float activity = cons.activity[i];

        // a. trust, after last step's breaches; users of exited services go outside
        bool exposed = false;
        for (int s = 0; s < sectors; ++s) {
          const auto o = static_cast<std::size_t>(off[s] + choice[s]);
          if (choice[s] == 0) continue;
          exposed |= (opt.exposes[o] & 1) || ((opt.exposes[o] & 2) && cons.consent[i]);
          if (!opt.open[o]) choice[s] = 0;
        }
        const float trust = std::clamp(cons.trust[i] + recovery * (trust_target - cons.trust[i]) -
                                           (exposed ? shock : 0.0f), 0.0f, 1.0f);
        cons.trust[i] = trust;

        // b. consent
        if (regime == ConsentRegime::kNone) {
          cons.consent[i] = 1;
        } else if (lanes[0] < consent_cut) {
          const float pr = logistic(trust_weight * trust - theta * rho_jv + consent_shift);
          cons.consent[i] = to_unit(lanes[1]) < pr ? 1 : 0;
        }
        const int c = cons.consent[i];

        // c-e. per sector: utilities, logsum surplus, revision, data
        for (int s = 0; s < sectors; ++s) {
          const int o0 = off[s];
          const int options = off[s + 1] - o0;
          const int current = choice[s];
          if (peers) {
            std::fill(peer, peer + options, 0.0f);
            const auto b = net.offsets[i], e = net.offsets[i + 1];
            for (auto q = b; q < e; ++q) peer[cons.previous[static_cast<std::size_t>(net.neighbours[q]) * sectors + s]] += 1.0f;
            const float scale = e > b ? peer_weight / static_cast<float>(e - b) : 0.0f;
            for (int j = 0; j < options; ++j) peer[j] *= scale;
          }
          float vmax = -INFINITY;
          for (int j = 0; j < options; ++j) {
            const auto o = static_cast<std::size_t>(o0 + j);
            utility[j] = opt.base[o] - theta * opt.risk[2 * o + c] + (peers ? peer[j] : 0.0f);
            if (opt.open[o]) vmax = std::max(vmax, utility[j]);
          }
          float total = 0.0f;
          for (int j = 0; j < options; ++j) {
            weight[j] = opt.open[o0 + j] ? std::exp(utility[j] - vmax) : 0.0f;
            total += weight[j];
          }
          const float cs = (vmax + std::log(total)) / alpha;
          if (std::isfinite(cs)) t[tl.sector_cs + s] += cs;
          else t[tl.nonfinite] += 1;

          int chosen = current;
          if (lanes[2 + 2 * s] < revise_cut) {
            const float stay = weight[current] * (switch_bonus - 1.0f);
            float u = static_cast<float>(to_unit(lanes[3 + 2 * s])) * (total + stay);
            chosen = options - 1;
            for (int j = 0; j < options; ++j) {
              u -= weight[j] + (j == current ? stay : 0.0f);
              if (u < 0.0f && weight[j] > 0.0f) { chosen = j; break; }
            }
            while (chosen > 0 && weight[chosen] == 0.0f) --chosen;  // rounding at the top end
            choice[s] = static_cast<std::uint8_t>(chosen);
          }
          if (chosen == 0) continue;
          const auto o = static_cast<std::size_t>(o0 + chosen);
          const double data = activity * opt.data_per_activity[o];
          t[tl.users + o] += 1.0;
          t[tl.data + o] += data;
          if (c) t[tl.consented + o] += data;
          if (chosen != current) t[tl.ported + o] += activity * opt.port_per_activity[o];
          t[tl.harm] += theta * opt.risk[2 * o + c];
        }
        t[tl.trust] += trust;
        t[tl.consent] += c;
      }
    }
  }

  // Chunk partials in chunk order.
  std::vector<double> sum(tl.width, 0.0);
  for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
    const double* t = &st.partials[static_cast<std::size_t>(chunk) * tl.width];
    for (std::size_t j = 0; j < tl.width; ++j) sum[j] += t[j];
  }
  const double inv_n = 1.0 / n;
  auto& sv = st.services;
  for (int k = 0; k < m.services; ++k) {
    const auto o = static_cast<std::size_t>(off[m.service_sector[k]] + m.service_option[k]);
    sv.users[k] = sum[tl.users + o];
    sv.data_flow[k] = sum[tl.data + o] * inv_n;
    sv.consented_flow[k] = sum[tl.consented + o] * inv_n;
    sv.ported[k] = sum[tl.ported + o] * inv_n;
  }
  auto& tot = st.totals;
  tot.sector_cs.assign(sum.begin() + static_cast<std::ptrdiff_t>(tl.sector_cs),
                       sum.begin() + static_cast<std::ptrdiff_t>(tl.sector_cs + sectors));
  tot.cs = 0;
  for (double x : tot.sector_cs) tot.cs += x;
  tot.trust = sum[tl.trust];
  tot.consent = sum[tl.consent];
  tot.harm = sum[tl.harm];
  tot.nonfinite = static_cast<std::int64_t>(sum[tl.nonfinite]);
}

}  // namespace policysim
