// The consumer pass works on batches of kBatch consecutive consumers in structure-of-arrays
// scratch: random lanes, trust, consent logits, utilities, exp and logsum run as loops over the
// batch that the compiler vectorises; the inverse-CDF draw of the few who revise and the
// per-option sums run per consumer. Chunks of kChunk consumers are whole batches, so a
// consumer's arithmetic does not depend on which thread runs it.
#include "consumers.hpp"

#include <algorithm>
#include <cmath>

#include "jv.hpp"
#include "vecmath.hpp"

namespace policysim {
namespace {

constexpr int kBatch = 64;
static_assert(kChunk % kBatch == 0, "chunks are whole batches");
constexpr float kClosed = -1e30f;  // base utility of an option that cannot be chosen

// Offsets inside one chunk's partial sums; per option the sums are of activity (users, all,
// consenting, switchers), scaled by the option's data per activity when the chunks are combined.
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

// Per-thread scratch for one batch; option rows are [options][kBatch]. Sums over a chunk are
// kept per lane (so the adds vectorise) and folded in lane order at the end of the chunk:
// per-option tallies in float (at most kChunk/kBatch = 256 terms a lane), the rest in double.
struct Batch {
  explicit Batch(const Model& m, std::uint32_t blocks)
      : lanes(blocks), utility(rows(m.options)), weight(rows(m.options)), peer(rows(m.options)),
        users(rows(m.options)), activity_sum(rows(m.options)), consented_sum(rows(m.options)),
        ported_sum(rows(m.options)), sector_cs(rows(m.sectors)) {}
  static std::size_t rows(int n) { return static_cast<std::size_t>(n) * kBatch; }
  struct Block {
    std::uint32_t lane[4][kBatch];
  };
  std::vector<Block> lanes;  // [blocks] Philox output per consumer
  alignas(64) float theta[kBatch], activity[kBatch], trust[kBatch], consent[kBatch], valid[kBatch];
  alignas(64) float peer_scale[kBatch] = {};
  alignas(64) float vmax[kBatch], total[kBatch], cs[kBatch];
  alignas(64) std::int32_t current[kBatch], chosen[kBatch];
  std::vector<float> utility, weight, peer;
  // chunk sums per lane
  std::vector<float> users, activity_sum, consented_sum, ported_sum;  // [options][kBatch]
  std::vector<double> sector_cs;                                       // [sectors][kBatch]
  alignas(64) double trust_sum[kBatch] = {}, consent_sum[kBatch] = {}, harm_sum[kBatch] = {}, nonfinite[kBatch] = {};
};

// Everything the pass reads that is constant within the step.
struct PassConstants {
  float alpha, peer_weight, switch_bonus, trust_weight, consent_shift, rho_jv, trust_target, recovery, shock;
  std::uint64_t revise_cut, consent_cut;
  ConsentRegime regime;
  bool peers, any_exposure, any_closed;
  std::uint32_t step, blocks;

  PassConstants(const Model& m, const Phase& ph, const State& st) {
    const auto& p = ph.params;
    alpha = static_cast<float>(p.consumers.price_sensitivity);
    peer_weight = static_cast<float>(p.consumers.peer_weight);
    switch_bonus = static_cast<float>(std::exp(p.consumers.switching_cost));
    trust_weight = static_cast<float>(p.consent.trust_weight);
    regime = p.regulator.consent;
    consent_shift = static_cast<float>(p.consent.benefit + (regime == ConsentRegime::kOptOut ? p.consent.default_bias : 0.0));
    rho_jv = static_cast<float>(p.jv.enabled ? jv_risk(p.jv) : 0.0);
    trust_target = static_cast<float>(p.consumers.initial_trust);
    recovery = static_cast<float>(p.regulator.breach.trust_recovery);
    shock = static_cast<float>(p.regulator.breach.trust_shock);
    revise_cut = threshold(p.consumers.revision_rate);
    consent_cut = threshold(p.consumers.consent_revision_rate);
    peers = !st.network.empty() && p.consumers.peer_weight != 0.0;
    const auto& opt = st.options;
    any_exposure = std::any_of(opt.exposes.begin(), opt.exposes.end(), [](auto e) { return e != 0; });
    any_closed = std::any_of(opt.open.begin(), opt.open.end(), [](auto o) { return o == 0; });
    step = static_cast<std::uint32_t>(st.step);
    blocks = (2 + 2 * static_cast<std::uint32_t>(m.sectors) + 3) / 4;
  }
};

// Trust and consent of the batch's consumers; exposure and exits read last step's choices.
void update_trust_and_consent(const Model& m, const PassConstants& k, const OptionTable& opt, Consumers& cons,
                              std::uint32_t first, int count, Batch& bt) {
  const int sectors = m.sectors;
  float exposed[kBatch] = {};
  if (k.any_exposure || k.any_closed) {
    for (int b = 0; b < count; ++b) {
      std::uint8_t* choice = &cons.choice[static_cast<std::size_t>(first + b) * sectors];
      for (int s = 0; s < sectors; ++s) {
        if (choice[s] == 0) continue;
        const auto o = static_cast<std::size_t>(m.option_offset[s] + choice[s]);
        if ((opt.exposes[o] & 1) || ((opt.exposes[o] & 2) && cons.consent[first + b])) exposed[b] = 1.0f;
        if (!opt.open[o]) choice[s] = 0;  // the service exited: its users go outside
      }
    }
  }
#pragma omp simd
  for (int b = 0; b < kBatch; ++b) {
    const float t = bt.trust[b] + k.recovery * (k.trust_target - bt.trust[b]) - k.shock * exposed[b];
    bt.trust[b] = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
  }
  if (k.regime == ConsentRegime::kNone) {
    for (int b = 0; b < kBatch; ++b) bt.consent[b] = 1.0f;
    return;
  }
  const float* __restrict trust = bt.trust;
  const float* __restrict theta = bt.theta;
  const std::uint32_t* __restrict revise_lane = bt.lanes[0].lane[0];
  const std::uint32_t* __restrict draw_lane = bt.lanes[0].lane[1];
  float* __restrict consent = bt.consent;
  // a threshold of 2^32 (probability 1) is "always"; below it a 32-bit compare decides
  const bool always = k.consent_cut > 0xffffffffu;
  const auto cut = static_cast<std::uint32_t>(always ? 0xffffffffu : k.consent_cut);
#pragma omp simd
  for (int b = 0; b < kBatch; ++b) {
    const float probability =
        1.0f / (1.0f + exp_approx(-(k.trust_weight * trust[b] - theta[b] * k.rho_jv + k.consent_shift)));
    const bool revise = always || revise_lane[b] < cut;
    consent[b] = revise ? (to_unit_float(draw_lane[b]) < probability ? 1.0f : 0.0f) : consent[b];
  }
}

// peer[o][b]: how many of b's neighbours chose option o last step; peer_scale[b] turns the
// count into peer_weight times the fraction.
void count_peers(const Model& m, const PassConstants& k, const Network& net, const Consumers& cons,
                 std::uint32_t first, int count, Batch& bt) {
  std::fill(bt.peer.begin(), bt.peer.end(), 0.0f);
  const int sectors = m.sectors;
  float* __restrict peer = bt.peer.data();
  for (int b = 0; b < kBatch; ++b) bt.peer_scale[b] = 0.0f;
  for (int b = 0; b < count; ++b) {
    const auto begin = net.offsets[first + b], end = net.offsets[first + b + 1];
    if (begin == end) continue;
    for (auto q = begin; q < end; ++q) {
      const std::uint8_t* theirs = &cons.previous[static_cast<std::size_t>(net.neighbours[q]) * sectors];
      for (int s = 0; s < sectors; ++s) peer[static_cast<std::size_t>(m.option_offset[s] + theirs[s]) * kBatch + b] += 1.0f;
    }
    bt.peer_scale[b] = k.peer_weight / static_cast<float>(end - begin);
  }
}

// Utilities, their exponentials and the logsum surplus of sector s for the whole batch.
void sector_utilities(const Model& m, const PassConstants& k, const OptionTable& opt, int s, Batch& bt) {
  const int o0 = m.option_offset[s], options = m.option_offset[s + 1] - o0;
  float* __restrict vmax = bt.vmax;
  float* __restrict total = bt.total;
  float* __restrict cs = bt.cs;
  const float* __restrict theta = bt.theta;
  const float* __restrict consent = bt.consent;
  for (int b = 0; b < kBatch; ++b) vmax[b] = kClosed;
  for (int j = 0; j < options; ++j) {
    const auto o = static_cast<std::size_t>(o0 + j);
    const float base = opt.open[o] ? opt.base[o] : kClosed;
    const float risk0 = opt.risk[2 * o], drisk = opt.risk[2 * o + 1] - opt.risk[2 * o];
    const float peer_on = k.peers && j > 0 ? 1.0f : 0.0f;  // the outside option has no peer term
    float* __restrict u = &bt.utility[o * kBatch];
    const float* __restrict peer = &bt.peer[o * kBatch];
    const float* __restrict peer_scale = bt.peer_scale;
#pragma omp simd
    for (int b = 0; b < kBatch; ++b) {
      u[b] = base - theta[b] * (risk0 + consent[b] * drisk) + peer_on * peer_scale[b] * peer[b];
      vmax[b] = u[b] > vmax[b] ? u[b] : vmax[b];
    }
  }
  for (int b = 0; b < kBatch; ++b) total[b] = 0.0f;
  for (int j = 0; j < options; ++j) {
    const auto o = static_cast<std::size_t>(o0 + j);
    const float* __restrict u = &bt.utility[o * kBatch];
    float* __restrict w = &bt.weight[o * kBatch];
#pragma omp simd
    for (int b = 0; b < kBatch; ++b) {
      w[b] = exp_approx(u[b] - vmax[b]);
      total[b] += w[b];
    }
  }
  const float inv_alpha = 1.0f / k.alpha;
#pragma omp simd
  for (int b = 0; b < kBatch; ++b) cs[b] = (vmax[b] + log_approx(total[b])) * inv_alpha;
}

// The option a reviser picks: inverse CDF over exp(V) with the bonus on the current choice.
int draw_option(const Batch& bt, int o0, int options, int current, float bonus, float uniform, int b) {
  const float stay = bt.weight[static_cast<std::size_t>(o0 + current) * kBatch + b] * (bonus - 1.0f);
  float u = uniform * (bt.total[b] + stay);
  int chosen = 0;
  for (int j = 0; j < options; ++j) {
    const float w = bt.weight[static_cast<std::size_t>(o0 + j) * kBatch + b];
    if (w == 0.0f) continue;
    chosen = j;  // the last open option absorbs rounding at the top end
    u -= w + (j == current ? stay : 0.0f);
    if (u < 0.0f) break;
  }
  return chosen;
}

// Revision in sector s: the consumers whose lane says so draw a new option.
void choose(const Model& m, const PassConstants& k, int s, std::uint32_t first, int count, Batch& bt, Consumers& cons) {
  const int sectors = m.sectors;
  const int o0 = m.option_offset[s], options = m.option_offset[s + 1] - o0;
  const std::uint32_t* revise = bt.lanes[(2 + 2 * s) / 4].lane[(2 + 2 * s) % 4];
  const std::uint32_t* uniform = bt.lanes[(3 + 2 * s) / 4].lane[(3 + 2 * s) % 4];
  for (int b = 0; b < kBatch; ++b) bt.current[b] = bt.chosen[b] = 0;
  for (int b = 0; b < count; ++b) {
    std::uint8_t& code = cons.choice[static_cast<std::size_t>(first + b) * sectors + s];
    bt.current[b] = bt.chosen[b] = code;
    if (revise[b] >= k.revise_cut) continue;
    bt.chosen[b] = draw_option(bt, o0, options, code, k.switch_bonus, to_unit_float(uniform[b]), b);
    code = static_cast<std::uint8_t>(bt.chosen[b]);
  }
}

// Adds sector s's surplus, users, data, consented data, ported data and privacy harm of the
// batch to the lane sums.
void tally_sector(const Model& m, const OptionTable& opt, int s, Batch& bt) {
  const int o0 = m.option_offset[s], options = m.option_offset[s + 1] - o0;
  const float* __restrict theta = bt.theta;
  const float* __restrict act = bt.activity;
  const float* __restrict consent = bt.consent;
  const std::int32_t* __restrict chosen = bt.chosen;
  const std::int32_t* __restrict current = bt.current;
  double* __restrict cs_sum = &bt.sector_cs[static_cast<std::size_t>(s) * kBatch];
#pragma omp simd
  for (int b = 0; b < kBatch; ++b) {
    const float cs = bt.cs[b];
    const bool finite = cs - cs == 0.0f;  // false for inf and nan
    cs_sum[b] += finite ? static_cast<double>(bt.valid[b] * cs) : 0.0;
    bt.nonfinite[b] += finite ? 0.0 : bt.valid[b];
  }
  alignas(64) float harm[kBatch] = {};
  for (int j = 1; j < options; ++j) {
    const auto o = static_cast<std::size_t>(o0 + j);
    const float risk0 = opt.risk[2 * o], drisk = opt.risk[2 * o + 1] - opt.risk[2 * o];
    float* __restrict users = &bt.users[o * kBatch];
    float* __restrict activity_sum = &bt.activity_sum[o * kBatch];
    float* __restrict consented_sum = &bt.consented_sum[o * kBatch];
    float* __restrict ported_sum = &bt.ported_sum[o * kBatch];
#pragma omp simd
    for (int b = 0; b < kBatch; ++b) {
      const float on = chosen[b] == j ? 1.0f : 0.0f;
      const float a = on * act[b];
      users[b] += on;
      activity_sum[b] += a;
      consented_sum[b] += a * consent[b];
      // a switcher from another service brings its history; an arrival from outside has none
      ported_sum[b] += current[b] != j && current[b] != 0 ? a : 0.0f;
      harm[b] += on * theta[b] * (risk0 + consent[b] * drisk);
    }
  }
#pragma omp simd
  for (int b = 0; b < kBatch; ++b) bt.harm_sum[b] += harm[b];
}

// Writes the lane sums of a finished chunk into its partials, lanes in order, and clears them.
void fold_chunk(const Model& m, const TallyLayout& tl, Batch& bt, double* t) {
  const auto fold = [](auto* lanes) {
    double total = 0;
    for (int b = 0; b < kBatch; ++b) total += lanes[b], lanes[b] = 0;
    return total;
  };
  for (int o = 0; o < m.options; ++o) {
    const auto row = static_cast<std::size_t>(o) * kBatch;
    t[tl.users + o] = fold(&bt.users[row]);
    t[tl.data + o] = fold(&bt.activity_sum[row]);
    t[tl.consented + o] = fold(&bt.consented_sum[row]);
    t[tl.ported + o] = fold(&bt.ported_sum[row]);
  }
  for (int s = 0; s < m.sectors; ++s) t[tl.sector_cs + s] = fold(&bt.sector_cs[static_cast<std::size_t>(s) * kBatch]);
  t[tl.trust] = fold(bt.trust_sum);
  t[tl.consent] = fold(bt.consent_sum);
  t[tl.harm] = fold(bt.harm_sum);
  t[tl.nonfinite] = fold(bt.nonfinite);
}

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
    // a JV breach exposes the consenting users of firms that contributed in the breached step
    const bool contributed = st.firms.jv_contribution[f] > 0;
    opt.exposes[o] = static_cast<std::uint8_t>((st.firms.breached[f] ? 1 : 0) | (st.jv.breached && contributed ? 2 : 0));
    opt.data_per_activity[o] = static_cast<float>(sec.data_intensity);
    opt.port_per_activity[o] = static_cast<float>(p.regulator.portability * sec.data_intensity / sec.depreciation);
  }
}

void consumer_pass(const Model& m, const Phase& ph, State& st) {
  const TallyLayout tl(m);
  const PassConstants k(m, ph, st);
  const std::uint32_t n = m.consumers;
  const int sectors = m.sectors;
  const auto chunks = static_cast<std::int64_t>((n + kChunk - 1) / kChunk);
  st.partials.assign(static_cast<std::size_t>(chunks) * tl.width, 0.0);
  const auto& opt = st.options;
  auto& cons = st.consumers;
  if (!st.network.empty()) std::copy(cons.choice.begin(), cons.choice.end(), cons.previous.begin());

#pragma omp parallel
  {
    Batch bt(m, k.blocks);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
      double* t = &st.partials[static_cast<std::size_t>(chunk) * tl.width];
      const auto chunk_first = static_cast<std::uint32_t>(chunk) * kChunk;
      const std::uint32_t chunk_last = std::min(n, chunk_first + kChunk);
      for (std::uint32_t first = chunk_first; first < chunk_last; first += kBatch) {
        const int count = static_cast<int>(std::min<std::uint32_t>(kBatch, chunk_last - first));
        for (std::uint32_t block = 0; block < k.blocks; ++block)
          draw_batch<kBatch>(st.key, Stream::kConsumer, k.step, first, block, bt.lanes[block].lane);
        // lanes past the last consumer compute on zeros and are never stored
        for (int b = 0; b < kBatch; ++b) {
          const bool valid = b < count;
          bt.valid[b] = valid ? 1.0f : 0.0f;
          bt.theta[b] = valid ? cons.privacy[first + b] : 0.0f;
          bt.activity[b] = valid ? cons.activity[first + b] : 0.0f;
          bt.trust[b] = valid ? cons.trust[first + b] : 0.0f;
          bt.consent[b] = valid ? static_cast<float>(cons.consent[first + b]) : 0.0f;
        }
        update_trust_and_consent(m, k, opt, cons, first, count, bt);
        if (k.peers) count_peers(m, k, st.network, cons, first, count, bt);
        for (int b = 0; b < count; ++b) {
          cons.trust[first + b] = bt.trust[b];
          cons.consent[first + b] = static_cast<std::uint8_t>(bt.consent[b]);
        }
#pragma omp simd
        for (int b = 0; b < kBatch; ++b) {
          bt.trust_sum[b] += bt.valid[b] * bt.trust[b];
          bt.consent_sum[b] += bt.valid[b] * bt.consent[b];
        }
        for (int s = 0; s < sectors; ++s) {
          sector_utilities(m, k, opt, s, bt);
          choose(m, k, s, first, count, bt, cons);
          tally_sector(m, opt, s, bt);
        }
      }
      fold_chunk(m, tl, bt, t);
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
  for (int s = 0; s < m.services; ++s) {
    const auto o = static_cast<std::size_t>(m.option_offset[m.service_sector[s]] + m.service_option[s]);
    sv.users[s] = sum[tl.users + o];
    sv.data_flow[s] = sum[tl.data + o] * opt.data_per_activity[o] * inv_n;
    sv.consented_flow[s] = sum[tl.consented + o] * opt.data_per_activity[o] * inv_n;
    sv.ported[s] = sum[tl.ported + o] * opt.port_per_activity[o] * inv_n;
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
