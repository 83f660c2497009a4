// The consumer pass works on batches of kBatch consecutive consumers in structure-of-arrays
// scratch. Per batch: the Philox lanes of all its consumers, trust and consent, peer counts;
// each sector's weights (exponentials of the utilities: eight lanes at a time through all
// options where the sector's services are all open, otherwise an option at a time over the
// batch's lanes); then, for each sector, one kernel takes eight lanes at a time through the
// surplus, the revisers' inverse-CDF picks (as a count of cumulative weights below the target;
// one reviser at a time where they are few) and the per-option sums. The kernels are
// templates on the sector's number of options. Chunks of kChunk consumers are whole batches,
// so a consumer's arithmetic does not depend on which thread runs it.
//
// Exponentials are taken of u - shift, with shift the sector's largest open base utility plus
// the largest possible peer term: the privacy term is never negative, so every exponent is at
// most 0 and no per-consumer maximum is needed. The outside option's weight is the same for
// every consumer. A consumer whose weights all fall below 2^-100 (a very large privacy cost)
// is recomputed with its own maximum. The surplus is summed as products of the totals'
// mantissas and sums of their exponents, with one logarithm per lane and chunk.
#include "consumers.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numbers>
#include <utility>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "jv.hpp"
#include "vecmath.hpp"

namespace policysim {
namespace {

constexpr int kBatch = 64;
constexpr int kGroup = 16;        // lanes of trust and consent taken at once (one F16)
constexpr int kDecideLanes = 8;   // lanes of a sector's decisions taken at once (one F8)
constexpr int kSumLanes = kDecideLanes;  // lanes of the per-option and surplus sums
static_assert(kChunk % kBatch == 0, "chunks are whole batches");
constexpr float kTiny = 0x1p-100f;  // below this total a consumer is recomputed with its own maximum
constexpr float kLargest = std::numeric_limits<float>::max();
constexpr std::int32_t kExponentBits = 0x7f800000;  // of a float: all set for inf and nan

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

// A revision decision from one 31-bit lane h = x >> 1: revise when h < cut, and then h / cut is
// the reviser's uniform in [0, 1), so one lane serves both. cut = floor(p 2^31).
//
// Where revisers are few (`sparse`), the pass visits only them, one at a time: their consent
// draws and their picks are taken in scalar code from a mask of the batch's revisers.
// Elsewhere every group computes its draws or picks in vector lanes: where revisers are
// common, visiting them one by one costs more than the vector lanes would. Either way gives
// the same results.
Revisers g_revisers = Revisers::kAuto;  // tests only
struct Revision {
  std::int32_t last = -1;  // revise when h <= last (cut - 1); -1 never
  float scale = 0.0f;      // 1 / cut
  bool sparse = false;     // whether only revisers are visited
  // the uniform of a reviser's lane x
  float uniform(std::uint32_t x) const { return static_cast<float>(static_cast<std::int32_t>(x >> 1)) * scale; }
  // sparse_below: the revision rate below which revisers are visited one at a time
  Revision(double p, double sparse_below) {
    p = std::clamp(p, 0.0, 1.0);
    const auto cut = static_cast<std::int64_t>(p * 0x1p31);
    last = static_cast<std::int32_t>(cut - 1);
    scale = cut > 0 ? static_cast<float>(1.0 / static_cast<double>(cut)) : 0.0f;
    sparse = g_revisers == Revisers::kAuto ? p < sparse_below : g_revisers == Revisers::kSparse;
  }
};
// Below these rates revisers are visited one at a time: a scalar consent draw or pick per
// reviser costs less than the vector lanes' share of every consumer.
constexpr double kSparseConsent = 0.1, kSparseChoice = 0.15;

// Where the batch's peer counts are: none (no peer term), one row per option (count_peers) or
// fields of the words' sums (count_peers_words).
enum class Peers { kNone, kRows, kFields };

// make.template operator()<N>() for a count n from kFirst to kLast, as N = n, and N = 0 (any
// count) otherwise: kernels are templates on a sector's number of options or the number of
// sectors.
template <int kFirst, int kLast, class Make>
auto by_count(int n, Make make) {
  if constexpr (kFirst > kLast) {
    return make.template operator()<0>();
  } else {
    if (n == kFirst) return make.template operator()<kFirst>();
    return by_count<kFirst + 1, kLast>(n, make);
  }
}

struct Batch;
struct PassConstants;
struct SectorPlan;
// One sector's decisions for the batch: the sector's row of codes holds the consumers' current
// codes, replaced by the chosen ones. Lanes past the last consumer compute on zeros and count
// for no option.
using SectorKernel = void (*)(const PassConstants&, const SectorPlan&, int s, Batch&);
// Sector s's weights and total for the whole batch; whether every lane's total is ordinary.
using WeightKernel = bool (*)(const PassConstants&, const SectorPlan&, int s, Batch&);

// One sector for the step: the shift that keeps every exponent at or below 0, each service's
// terms (in log2 units for the exponentials and in utility units for the harm) and the kernel
// for its number of options.
struct SectorPlan {
  struct Term {
    bool open = false;  // services closed this step have weight 0
    float b2 = 0;       // (base - shift) log2 e
    float r2 = 0, d2 = 0;  // risk for c = 0, and its JV increment for c = 1, times log2 e
    float r0 = 0, d = 0;   // the same in utility units
  };
  int o0 = 0, options = 0, last_open = 0;
  float shift = 0.0f, b2_outside = 0.0f, w_outside = 0.0f;
  std::vector<Term> term;  // [options]; term[0], the outside option, is described by b2_outside
  // r0 and d by option (0 for the outside option and closed services), for sectors of up to 8
  alignas(32) float r0_table[8] = {}, d_table[8] = {};
  struct TermLanes {
    F8 b2, nr2, nd2;  // b2, -r2 and -d2
  };
  std::vector<TermLanes> lanes;  // [options] the terms in every lane (term[0]'s unused)
  bool all_open = true;
  WeightKernel weigh = nullptr;
  SectorKernel decide = nullptr;
};

// Peer counts as fields of one 64-bit word per consumer: every service of every sector has a
// field of `bits` bits, enough for the largest degree, floor(32 / bits) of them in each 32-bit
// half (the outside option's count is not used). A consumer's word is the sum of its
// neighbours' words, each the one-hot of last step's choices: one add per neighbour.
struct PeerFields {
  int bits = 0;                    // 0: the counts do not fit, the general count applies
  std::uint32_t mask() const { return (1u << bits) - 1; }
  std::vector<std::uint64_t> one;  // [options] the 1 of the option's field (0 for outside options)
  std::vector<int> half, shift;    // [options] where the field is
  PeerFields(const Model& m, bool applies, std::uint64_t max_degree) {
    if (!applies) return;
    int need = 1;
    while (need <= 16 && (std::uint64_t{1} << need) <= max_degree) ++need;
    if (need > 16 || m.services > 2 * (32 / need)) return;
    bits = need;
    const int per_half = 32 / bits;
    one.assign(static_cast<std::size_t>(m.options), 0);
    half.assign(static_cast<std::size_t>(m.options), 0);
    shift.assign(static_cast<std::size_t>(m.options), 0);
    int f = 0;
    for (int s = 0; s < m.sectors; ++s)
      for (int o = m.option_offset[s] + 1; o < m.option_offset[s + 1]; ++o, ++f) {
        half[static_cast<std::size_t>(o)] = f / per_half;
        shift[static_cast<std::size_t>(o)] = bits * (f % per_half);
        one[static_cast<std::size_t>(o)] = std::uint64_t{1} << (32 * (f / per_half) + bits * (f % per_half));
      }
  }
};
bool g_general_peer_count = false;  // tests only
bool g_general_weights = false;     // tests only
SectorKernel sector_kernel(int options, bool ported);
WeightKernel weight_kernel(int options, bool all_open, Peers peers);

bool uses_peers(const Phase& ph, const State& st) { return !st.network.empty() && ph.params.consumers.peer_weight != 0.0; }

// Everything the pass reads that is constant within the step.
struct PassConstants {
  float inv_alpha, peer_weight2, switch_extra, trust_weight, consent_shift, rho_jv, trust_target, recovery, shock;
  Revision revise, consent_revise;
  ConsentRegime regime;
  bool peers, any_exposure, any_closed;
  Peers peer_source;  // where the batch's peer counts are
  bool any_ported;  // whether data moves with switchers (portability above 0)
  std::uint32_t step, blocks;
  RoundKeys keys;
  std::vector<SectorPlan> sectors;
  PeerFields fields;

  PassConstants(const Model& m, const Phase& ph, const State& st)
      : revise(ph.params.consumers.revision_rate, kSparseChoice), consent_revise(ph.params.consumers.consent_revision_rate, kSparseConsent),
        peers(uses_peers(ph, st)), keys(st.key), fields(m, peers && !g_general_peer_count, st.network.max_degree) {
    peer_source = !peers ? Peers::kNone : fields.bits > 0 ? Peers::kFields : Peers::kRows;
    const auto& p = ph.params;
    inv_alpha = static_cast<float>(1.0 / p.consumers.price_sensitivity);
    peer_weight2 = static_cast<float>(p.consumers.peer_weight * std::numbers::log2e);
    switch_extra = static_cast<float>(std::exp(p.consumers.switching_cost) - 1.0);
    trust_weight = static_cast<float>(p.consent.trust_weight);
    regime = p.regulator.consent;
    consent_shift = static_cast<float>(p.consent.benefit + (regime == ConsentRegime::kOptOut ? p.consent.default_bias : 0.0));
    rho_jv = static_cast<float>(p.jv.enabled ? jv_risk(p.jv) : 0.0);
    trust_target = static_cast<float>(p.consumers.initial_trust);
    recovery = static_cast<float>(p.regulator.breach.trust_recovery);
    shock = static_cast<float>(p.regulator.breach.trust_shock);
    const auto& opt = st.options;
    any_exposure = std::any_of(opt.exposes.begin(), opt.exposes.end(), [](auto e) { return e != 0; });
    any_closed = std::any_of(opt.open.begin(), opt.open.end(), [](auto o) { return o == 0; });
    any_ported = std::any_of(opt.port_per_activity.begin(), opt.port_per_activity.end(), [](auto x) { return x != 0.0f; });
    step = static_cast<std::uint32_t>(st.step);
    blocks = (1 + static_cast<std::uint32_t>(m.sectors) + 3) / 4;  // lane 0 consent, lane 1 + s sector s
    const double max_peer = peers ? std::max(0.0, p.consumers.peer_weight) : 0.0;
    sectors.resize(static_cast<std::size_t>(m.sectors));
    for (int s = 0; s < m.sectors; ++s) {
      auto& sp = sectors[static_cast<std::size_t>(s)];
      sp.o0 = m.option_offset[s];
      sp.options = m.option_offset[s + 1] - sp.o0;
      double top = opt.base[static_cast<std::size_t>(sp.o0)];  // the outside option is always open
      for (int j = 1; j < sp.options; ++j)
        if (opt.open[static_cast<std::size_t>(sp.o0 + j)]) top = std::max(top, static_cast<double>(opt.base[static_cast<std::size_t>(sp.o0 + j)]));
      sp.shift = static_cast<float>(top + max_peer);
      const auto log2_units = [&](double u) { return static_cast<float>((u - sp.shift) * std::numbers::log2e); };
      sp.b2_outside = log2_units(opt.base[static_cast<std::size_t>(sp.o0)]);
      sp.w_outside = exp2_approx(sp.b2_outside);
      sp.term.assign(static_cast<std::size_t>(sp.options), {});
      sp.lanes.assign(static_cast<std::size_t>(sp.options), SectorPlan::TermLanes{});
      for (int j = 1; j < sp.options; ++j) {
        const auto o = static_cast<std::size_t>(sp.o0 + j);
        sp.all_open &= opt.open[o] != 0;
        if (!opt.open[o]) continue;
        const float r0 = opt.risk[2 * o], d = opt.risk[2 * o + 1] - opt.risk[2 * o];
        sp.term[static_cast<std::size_t>(j)] = {true, log2_units(opt.base[o]), static_cast<float>(r0 * std::numbers::log2e),
                                                static_cast<float>(d * std::numbers::log2e), r0, d};
        const auto& t = sp.term[static_cast<std::size_t>(j)];
        sp.lanes[static_cast<std::size_t>(j)] = {F8{} + t.b2, F8{} - t.r2, F8{} - t.d2};
        if (j < 8) sp.r0_table[j] = r0, sp.d_table[j] = d;
        sp.last_open = j;
      }
      sp.weigh = weight_kernel(sp.options, sp.all_open && !g_general_weights, peer_source);
      sp.decide = sector_kernel(sp.options, any_ported);
    }
  }
};

// Per-thread scratch for one batch; option rows are [options][kBatch]. Sums over a chunk are
// kept per lane (so the adds vectorise) and folded in lane order at the end of the chunk: the
// per-option tallies, the surplus and the harm in kSumLanes lanes, to which each sector adds
// its batch's sums (per-option tallies in float or int, at most kChunk/kBatch = 256 terms a
// lane), trust in kBatch lanes of double and consent (a count) in float. The surplus is kept
// as a product: see fold_chunk.
struct Batch {
  // rows (AlignedVector) start on cache lines, so that no vector access is split across two
  explicit Batch(const Model& m, std::uint32_t blocks)
      : lanes(blocks), codes(rows(m.sectors)), peer(rows(m.options)), weight(rows(m.options)), total(rows(m.sectors)),
        users(sum_rows(m.options)), activity_sum(sum_rows(m.options)), consented_sum(sum_rows(m.options)),
        ported_sum(sum_rows(m.options)), cs_mantissa(sum_rows(m.sectors), 1.0f), cs_exponent(sum_rows(m.sectors)),
        cs_extra(static_cast<std::size_t>(m.sectors)),
        cs_excluded(static_cast<std::size_t>(m.sectors)), ordinary(static_cast<std::size_t>(m.sectors)) {}
  static std::size_t rows(int n) { return static_cast<std::size_t>(n) * kBatch; }
  static std::size_t sum_rows(int n) { return static_cast<std::size_t>(n) * kSumLanes; }
  struct Block {
    std::uint32_t lane[4][kBatch];
  };
  AlignedVector<Block> lanes;  // [blocks] Philox output per consumer
  AlignedVector<std::int32_t> codes;  // [sectors][kBatch] choice codes, current then chosen
  alignas(64) float theta[kBatch], activity[kBatch], trust[kBatch], consent[kBatch], valid[kBatch];
  alignas(64) float theta_consent[kBatch], activity_consent[kBatch];
  alignas(64) float peer_scale[kBatch] = {};
  AlignedVector<float> peer;
  std::vector<std::uint64_t> running;  // running sums of neighbours' words (count_peers_words)
  alignas(64) std::uint32_t peer_sum[2][kBatch];  // halves of the sums of neighbours' words
  AlignedVector<float> weight;  // [options][kBatch] 2^((u - shift) log2 e), the outside option's included
  AlignedVector<float> total;   // [sectors][kBatch] the sum of the sector's weights
  alignas(64) float brings[kBatch];  // a sector's data ported by switchers (decide_sector)
  // the batch's choice codes in the state, code[b * sectors + s] (decide_batch)
  std::uint8_t* state_codes = nullptr;
  int sectors = 0;
  // chunk sums per lane of kSumLanes
  AlignedVector<std::int32_t> users;                                  // [options][kSumLanes]
  AlignedVector<float> activity_sum, consented_sum, ported_sum;       // [options][kSumLanes]
  // per sector and lane, the product of the totals of the chunk's consumers as a mantissa in
  // [1, 2) and a power of two; per sector, the logsums' shifts back from a rescale and how
  // many consumers had a non-finite total
  AlignedVector<float> cs_mantissa;                                   // [sectors][kSumLanes]
  AlignedVector<std::int32_t> cs_exponent;                            // [sectors][kSumLanes]
  std::vector<double> cs_extra, cs_excluded;                        // [sectors]
  std::vector<std::uint8_t> ordinary;  // [sectors] every lane live, with a total from kTiny to the largest float
  alignas(64) double trust_sum[kBatch] = {}, harm_sum[kSumLanes] = {};
  alignas(64) float consent_sum[kBatch] = {};  // counts of at most kChunk / kBatch, exact in float
};

static_assert(kBatch % kGroup == 0, "batches are whole groups");

// The 31-bit lanes h = x >> 1 of a group, and which of them revise. F is F8 or F16.
template <class F>
struct GroupLanes {
  using I = typename IntOf<F>::type;
  I h, revise;
  GroupLanes(const std::uint32_t* lane, const Revision& r)
      : h(reinterpret<I>(load<typename IntOf<F>::unsigned_type>(lane) >> 1u)), revise(h <= r.last) {}
  F uniform(const Revision& r) const { return to_float<F>(h) * r.scale; }
};

// Trust and consent of the batch's consumers; exposure and exits read last step's choices.
void update_trust_and_consent(const Model& m, const PassConstants& k, const OptionTable& opt, Consumers& cons,
                              std::uint32_t first, int count, Batch& bt) {
  const int sectors = m.sectors;
  alignas(64) float exposed[kBatch] = {};
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
  // A reviser consents when its uniform is below logistic(trust_weight tau - theta rho_JV +
  // shift) = 1 / (1 + 2^z), z = -(...) log2 e. F is F16 or float, with the same operations.
  const float z0 = -k.consent_shift * kLog2e, zt = -k.trust_weight * kLog2e, zr = k.rho_jv * kLog2e;
  const auto consents = [&]<class F>(F trust, F theta, F uniform) { return uniform < 1.0f / (1.0f + exp2_approx(z0 + zt * trust + zr * theta)); };
  const Revision& revise = k.consent_revise;
  const std::uint32_t* const lane = bt.lanes[0].lane[0];
  if (revise.sparse) {
    std::uint64_t revisers = 0;  // bit b for a reviser in lane b
    for (int g = 0; g < kBatch; g += kDecideLanes) revisers |= std::uint64_t{lane_bits(GroupLanes<F8>(lane + g, revise).revise)} << g;
    if (count < kBatch) revisers &= (std::uint64_t{1} << count) - 1;
    for (; revisers != 0; revisers &= revisers - 1) {
      const int b = std::countr_zero(revisers);
      bt.consent[b] = consents(bt.trust[b], bt.theta[b], revise.uniform(lane[b])) ? 1.0f : 0.0f;
    }
    return;
  }
  const F16 one = F16{} + 1.0f, zero = F16{};
  for (int g = 0; g < kBatch; g += kGroup) {
    const GroupLanes<F16> lanes(lane + g, revise);
    const F16 drawn = select(consents(load<F16>(&bt.trust[g]), load<F16>(&bt.theta[g]), lanes.uniform(revise)), one, zero);
    store(&bt.consent[g], select(lanes.revise, drawn, load<F16>(&bt.consent[g])));
  }
}

// peer[o][b]: how many of b's neighbours chose option o last step; peer_scale[b] turns the
// count into peer_weight times the fraction, in log2 units.
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
    bt.peer_scale[b] = k.peer_weight2 / static_cast<float>(end - begin);
  }
}

// Every consumer's word (PeerFields) from the choices of the step before. S is the number of
// sectors, or 0 for any number.
template <int S>
void build_peer_words(const Model& m, const PeerFields& f, const Consumers& cons, std::vector<std::uint64_t>& words) {
  const int sectors = S > 0 ? S : m.sectors;
  const auto n = static_cast<std::int64_t>(words.size());
  const std::uint8_t* choice = cons.choice.data();
  std::uint64_t* word = words.data();
  std::vector<const std::uint64_t*> by_sector(static_cast<std::size_t>(sectors));  // one[] indexed by the code
  for (int s = 0; s < sectors; ++s) by_sector[static_cast<std::size_t>(s)] = f.one.data() + m.option_offset[s];
  const std::uint64_t* const* one = by_sector.data();
#pragma omp for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint8_t* code = choice + i * sectors;
    std::uint64_t w = 0;
    for (int s = 0; s < sectors; ++s) w += one[s][code[s]];
    word[i] = w;
  }
}
void build_peer_words_any(const Model& m, const PeerFields& f, const Consumers& cons, std::vector<std::uint64_t>& words) {
  by_count<1, 4>(m.sectors, [&]<int S>() { build_peer_words<S>(m, f, cons, words); });
}

// The same counts as count_peers from the words: a sum of words per consumer, in peer_sum, whose
// fields the weights read (PeerAt).
[[gnu::noinline]] void count_peers_words(const PassConstants& k, const Network& net, const std::vector<std::uint64_t>& words,
                       std::uint32_t first, int count, Batch& bt) {
  auto& sum = bt.peer_sum;  // lanes from `count` on are zeroed below
  const std::uint64_t* word = words.data();
  const std::uint32_t* neighbours = net.neighbours.data();
  const std::uint64_t* offsets = net.offsets.data();
  // A consumer's sum is the difference of two running sums over the batch's whole neighbour
  // list, which is one loop: a loop per consumer would mispredict at the end of every row, as
  // rows differ in length. The sums wrap modulo 2^64, so the differences are exact.
  const std::uint64_t q0 = offsets[first], q1 = offsets[first + count];
  if (bt.running.size() < q1 - q0 + 1) bt.running.resize(q1 - q0 + 1);
  std::uint64_t* const running = bt.running.data();
  std::uint64_t run = 0;
  running[0] = 0;
  std::uint64_t* next = running + 1;
  const std::uint32_t *q = neighbours + q0, *const last = neighbours + q1;
  // The rewired links of a small-world network point anywhere: the words of the next batch's
  // neighbours are requested in the same loop, so that their cache misses overlap with this
  // work.
  const auto nodes = static_cast<std::uint32_t>(net.offsets.size() - 1);
  const std::uint32_t *p = last, *p_last = last;
  if (first + kBatch < nodes) p = neighbours + offsets[first + kBatch], p_last = neighbours + offsets[std::min(nodes, first + 2 * kBatch)];
  const std::ptrdiff_t both = std::min(last - q, p_last - p);
#pragma GCC unroll 4
  for (std::ptrdiff_t i = 0; i < both; ++i) {
    __builtin_prefetch(word + p[i]);
    next[i] = run += word[q[i]];
  }
  q += both, p += both, next += both;
#pragma GCC unroll 4
  for (; p < p_last; ++p) __builtin_prefetch(word + *p);
#pragma GCC unroll 4
  for (; q != last; ++q) *next++ = run += word[*q];
  asm("" ::: "memory");
  alignas(64) float degree[kBatch];
  for (int b = count; b < kBatch; ++b) sum[0][b] = sum[1][b] = 0, degree[b] = 0.0f;
  for (int b = 0; b < count; ++b) {
    const std::uint64_t begin = offsets[first + b] - q0, end = offsets[first + b + 1] - q0;
    std::uint64_t total = running[end] - running[begin];
    asm("" : "+r"(total));  // scalar: GCC would vectorise this loop into emulated gathers
    sum[0][b] = static_cast<std::uint32_t>(total);
    sum[1][b] = static_cast<std::uint32_t>(total >> 32);
    degree[b] = static_cast<float>(static_cast<std::int32_t>(end - begin));  // a degree fits
  }
  for (int b = 0; b < kBatch; b += kGroup) {
    const F16 d = load<F16>(&degree[b]);
    store(&bt.peer_scale[b], select(d != 0.0f, k.peer_weight2 / d, F16{}));
  }
}

// Where option o's peer count is: its row (kRows), or the half of the words' sums, the shift and
// the mask of its field (kFields).
struct PeerAt {
  const float* row = nullptr;
  const std::uint32_t* half = nullptr;
  std::uint32_t shift = 0, mask = 0;
  PeerAt() = default;
  PeerAt(const PassConstants& k, Peers peers, const Batch& bt, std::size_t o) {
    if (peers == Peers::kRows) row = &bt.peer[o * kBatch];
    if (peers != Peers::kFields) return;
    const auto& f = k.fields;
    half = bt.peer_sum[f.half[o]];
    shift = static_cast<std::uint32_t>(f.shift[o]);
    mask = f.mask();
  }
  // how many of lane b's neighbours chose the option
  float count(int b) const { return row ? row[b] : static_cast<float>(static_cast<std::int32_t>((half[b] >> shift) & mask)); }
};

// Lane b of a sector whose weights all underflowed: the same weights and their total relative to
// its own largest exponent, which is returned (in log2 units) to be added back to the surplus.
float rescale_lane(const PassConstants& k, const SectorPlan& sp, int s, Peers peers, Batch& bt, int b) {
  const auto exponent = [&](int j) {
    const auto& t = sp.term[static_cast<std::size_t>(j)];
    float e = t.b2 - bt.theta[b] * t.r2 - bt.theta_consent[b] * t.d2;
    return peers != Peers::kNone ? e + bt.peer_scale[b] * PeerAt(k, peers, bt, static_cast<std::size_t>(sp.o0 + j)).count(b) : e;
  };
  float top = sp.b2_outside;
  for (int j = 1; j < sp.options; ++j)
    if (sp.term[static_cast<std::size_t>(j)].open) top = std::max(top, exponent(j));
  float* const w = &bt.weight[static_cast<std::size_t>(sp.o0) * kBatch + static_cast<std::size_t>(b)];
  w[0] = exp2_approx(sp.b2_outside - top);
  float total = w[0];
  for (int j = 1; j < sp.options; ++j) {
    if (sp.term[static_cast<std::size_t>(j)].open) w[j * kBatch] = exp2_approx(exponent(j) - top);
    total += w[j * kBatch];
  }
  bt.total[static_cast<std::size_t>(s) * kBatch + static_cast<std::size_t>(b)] = total;
  return top;
}

// The least and largest bits of a sector's totals seen as integers: those of an ordinary total
// (from kTiny to the largest float) lie in one range, and those of a nan or a negative number
// outside it, so the two tell whether any lane is rare.
struct TotalRange {
  I8 low = I8{} + std::numeric_limits<std::int32_t>::max(), high = I8{} + std::numeric_limits<std::int32_t>::min();
  void add(F8 total) {
    const I8 bits = reinterpret<I8>(total);
    low = select(bits < low, bits, low);
    high = select(bits > high, bits, high);
  }
  bool ordinary() const {
    return all_true((low >= std::bit_cast<std::int32_t>(kTiny)) & (high <= std::bit_cast<std::int32_t>(kLargest)));
  }
};

// The lanes' values that every option's exponent reads.
struct ExponentLanes {
  F8 theta, theta_consent, peer_scale;
  ExponentLanes(const Batch& bt, int b)
      : theta(load<F8>(&bt.theta[b])), theta_consent(load<F8>(&bt.theta_consent[b])), peer_scale(load<F8>(&bt.peer_scale[b])) {}
};

// The exponent of an option's weight in the lanes from b, in log2 units: b2 - theta r2 - theta c
// d2, plus the peer term. It is computed as (theta (-r2) + b2) + theta c (-d2), which rounds
// the same, from the option's terms in every lane (SectorPlan::lanes).
template <Peers kPeers>
F8 exponent_of(const ExponentLanes& x, int b, const SectorPlan::TermLanes& t, const PeerAt& at) {
  F8 e = (x.theta * t.nr2 + t.b2) + x.theta_consent * t.nd2;
  if constexpr (kPeers == Peers::kRows) e += x.peer_scale * load<F8>(at.row + b);
  if constexpr (kPeers == Peers::kFields) e += x.peer_scale * to_float<F8>(reinterpret<I8>((load<U8>(at.half + b) >> at.shift) & at.mask));
  return e;
}

// Sector s's weights for the whole batch, and its total (the outside option's weight plus the
// open services' in option order): an option at a time over all lanes, so that its constants
// and those of 2^x stay in registers. Every exponent of the pass is at most 0 (see the top).
// Returns whether every lane's total is ordinary (TotalRange).
template <Peers kPeers>
bool sector_weights(const PassConstants& k, const SectorPlan& sp, int s, Batch& bt) {
  constexpr int kStep = static_cast<int>(sizeof(F8) / sizeof(float));
  float* const total = &bt.total[static_cast<std::size_t>(s) * kBatch];
  float* const weight = &bt.weight[static_cast<std::size_t>(sp.o0) * kBatch];
  const F8 outside = F8{} + sp.w_outside;
  for (int b = 0; b < kBatch; b += kStep) store(total + b, outside), store(weight + b, outside);
  for (int j = 1; j < sp.options; ++j) {
    const auto& t = sp.term[static_cast<std::size_t>(j)];
    float* const w = weight + j * kBatch;
    if (!t.open) {
      std::fill(w, w + kBatch, 0.0f);
      continue;
    }
    const PeerAt at(k, kPeers, bt, static_cast<std::size_t>(sp.o0 + j));
    const SectorPlan::TermLanes terms = sp.lanes[static_cast<std::size_t>(j)];  // a copy: the stores below could alias the plan
    for (int b = 0; b < kBatch; b += kStep) {
      const F8 x = exp2_approx<true>(exponent_of<kPeers>(ExponentLanes(bt, b), b, terms, at));
      store(w + b, x);
      store(total + b, load<F8>(total + b) + x);
    }
  }
  TotalRange range;
  for (int b = 0; b < kBatch; b += kStep) range.add(load<F8>(total + b));
  return range.ordinary();
}

// The same for a sector of O options that are all open: a group of lanes at a time through
// every option, the total in a register, the options' terms read from memory. Each lane
// computes the same operations as in sector_weights.
template <int O, Peers kPeers>
bool open_sector_weights(const PassConstants& k, const SectorPlan& sp, int s, Batch& bt) {
  constexpr int kStep = static_cast<int>(sizeof(F8) / sizeof(float));
  float* const total = &bt.total[static_cast<std::size_t>(s) * kBatch];
  float* const weight = &bt.weight[static_cast<std::size_t>(sp.o0) * kBatch];
  const SectorPlan::TermLanes* const terms = sp.lanes.data();
  const F8 outside = F8{} + sp.w_outside;
  PeerAt at[O];
  for (int j = 1; j < O; ++j) at[j] = PeerAt(k, kPeers, bt, static_cast<std::size_t>(sp.o0 + j));
  TotalRange range;
  for (int b = 0; b < kBatch; b += kStep) {
    const ExponentLanes lanes(bt, b);  // read once: the stores below could alias them
    F8 sum = outside;
    store(weight + b, outside);
#pragma GCC unroll 8
    for (int j = 1; j < O; ++j) {
      const F8 x = exp2_approx<true>(exponent_of<kPeers>(lanes, b, terms[j], at[j]));
      store(weight + j * kBatch + b, x);
      sum += x;
    }
    store(total + b, sum);
    range.add(sum);
  }
  return range.ordinary();
}

WeightKernel weight_kernel(int options, bool all_open, Peers peers) {
  const auto pick = [&]<Peers kPeers>() {
    return by_count<2, 8>(all_open ? options : 0, []<int O>() -> WeightKernel {
      if constexpr (O == 0)
        return sector_weights<kPeers>;
      else
        return open_sector_weights<O, kPeers>;
    });
  };
  switch (peers) {
    case Peers::kRows: return pick.template operator()<Peers::kRows>();
    case Peers::kFields: return pick.template operator()<Peers::kFields>();
    default: return pick.template operator()<Peers::kNone>();
  }
}

// Every sector's weights and total for the whole batch (SectorPlan::weigh). Then the rare
// lanes: a live lane whose total is below kTiny is rescaled (rescale_lane), and one whose total
// is not finite is counted, to be left out of the surplus.
void batch_weights(const PassConstants& k, int count, Batch& bt) {
  for (std::size_t s = 0; s < k.sectors.size(); ++s) {
    const auto& sp = k.sectors[s];
    const bool rare = !sp.weigh(k, sp, static_cast<int>(s), bt);  // lanes past the last consumer compute on zeros
    const float* const total = &bt.total[s * kBatch];
    bt.ordinary[s] = count == kBatch && !rare;
    if (rare) [[unlikely]]
      for (int i = 0; i < count; ++i) {
        if (total[i] < kTiny) bt.cs_extra[s] += static_cast<double>(rescale_lane(k, sp, static_cast<int>(s), k.peer_source, bt, i) * kLn2);
        if (!std::isfinite(total[i])) bt.cs_excluded[s] += 1.0;
      }
  }
}

// A reviser's pick: the first option whose cumulative weight (the current one boosted by
// exp(switching_cost)) exceeds uniform * (total + boost), that is the number of options whose
// cumulative weight is at or below it; the last open option absorbs rounding at the top end.
// pick_group takes eight lanes, pick_lane one: they compute the same operations per lane, so
// either gives the same pick.
template <int O>
I8 pick_group(const float* weight, int options, I8 current, F8 total, F8 uniform, float switch_extra, std::int32_t last_open) {
  const auto w = [&](int j) { return load<F8>(weight + j * kBatch); };
  F8 stay{};
#pragma GCC unroll 8
  for (int j = 0; j < (O > 0 ? O : options); ++j) stay = select(current == j, w(j), stay);
  stay *= switch_extra;
  const F8 target = uniform * (total + stay);
  F8 cum = select(current == 0, w(0) + stay, w(0));
  I8 passed = I8{} - (cum <= target);  // a true comparison is -1
#pragma GCC unroll 8
  for (int j = 1; j < (O > 0 ? O : options); ++j) {
    cum += select(current == j, w(j) + stay, w(j));
    passed -= cum <= target;
  }
  return select(passed < last_open, passed, last_open);
}
// weight: the lane's weight of option 0, those of option j kBatch further on.
template <int O>
std::int32_t pick_lane(const float* weight, int options, std::int32_t current, float total, float uniform, float switch_extra,
                       std::int32_t last_open) {
  constexpr int kMax = O > 0 ? O : 256;  // codes are bytes
  float x[kMax];
#pragma GCC unroll 8
  for (int j = 0; j < (O > 0 ? O : options); ++j) x[j] = weight[j * kBatch];
  const float stay = x[current] * switch_extra;
  x[current] += stay;  // indexed, so that no lane branches on its current option
  const float target = uniform * (total + stay);
  float cum = x[0];
  std::int32_t passed = cum <= target;
#pragma GCC unroll 8
  for (int j = 1; j < (O > 0 ? O : options); ++j) {
    cum += x[j];
    passed += cum <= target;
  }
  return passed < last_open ? passed : last_open;
}

// Sector s for the batch (SectorKernel), eight lanes (one F8) at a time, from the weights
// batch_weights left. O is the sector's number of options, or 0 for any number;
// kPorted whether data moves with switchers. The logsum surplus is shift + ln(total); where
// revisers are sparse, their picks are taken one at a time after the surplus, otherwise a
// group's at once with it. Then the tallies add the sector's surplus, users, data, consented
// data, ported data and privacy harm to the lane sums.
template <int O, bool kPorted>
void decide_sector(const PassConstants& k, const SectorPlan& sp, int s, Batch& bt) {
  using F = F8;
  using I = I8;
  constexpr int kLanes = kDecideLanes;
  static_assert(sizeof(F) == kLanes * sizeof(float) && kBatch % kLanes == 0, "batches are whole vectors");
  const int options = O > 0 ? O : sp.options;
  // the sector's rows, held in locals so that stores through them are known not to move them
  const auto first_row = static_cast<std::size_t>(sp.o0) * kBatch;
  const auto sector_row = static_cast<std::size_t>(s) * kBatch;
  const float* const weight = bt.weight.data() + first_row;
  const float* const total_row = bt.total.data() + sector_row;
  std::int32_t* const code = bt.codes.data() + sector_row;
  float* const brings_row = bt.brings;
  const std::uint32_t* const lane = bt.lanes[static_cast<std::size_t>(1 + s) / 4].lane[(1 + s) % 4];
  const float switch_extra = k.switch_extra;
  const Revision revise = k.revise;
  const std::int32_t last_open = sp.last_open;
  const SectorPlan::Term* term = sp.term.data();
  const F zero = F{};
  // the lanes' running products of totals, held across the batch
  float* const mantissa_sum = bt.cs_mantissa.data() + static_cast<std::size_t>(s) * kSumLanes;
  std::int32_t* const exponent_sum = bt.cs_exponent.data() + static_cast<std::size_t>(s) * kSumLanes;
  F mantissa = load<F>(mantissa_sum);
  I exponent = load<I>(exponent_sum);
  // The surplus ln(total) (plus the shift, added when the chunk is folded) enters the lane's
  // running product: the running mantissa, in [1, 2), times a total, from 2^-100 to 2^9, is a
  // normal float, whose exponent goes to the lane's sum and whose mantissa is kept (the same as
  // multiplying the totals' mantissas and adding their exponents). Where the batch is not all
  // ordinary, a lane past the last consumer or with a non-finite total (which batch_weights
  // counted) enters as 1.
  const bool ordinary = bt.ordinary[static_cast<std::size_t>(s)] != 0;
  const auto add_surplus = [&](F total, I live) {
    constexpr std::int32_t kMantissa = 0x007fffff, kOne = 0x3f800000;
    if (!ordinary) {
      const I bits = reinterpret<I>(total);
      total = reinterpret<F>(select(live & ((bits & kExponentBits) != kExponentBits), bits, kOne));
    }
    const I product = reinterpret<I>(mantissa * total);
    exponent += (product >> 23) - 127;
    mantissa = reinterpret<F>((product & kMantissa) | kOne);
  };
  if (revise.sparse) {
    std::uint8_t* const state_code = bt.state_codes + s;  // lane b's is at b * stride
    const int stride = bt.sectors;
    std::uint64_t revisers = 0;  // bit b for a reviser in lane b
    for (int g = 0; g < kBatch; g += kLanes) {
      const I live = ordinary ? I{} - 1 : load<F>(&bt.valid[g]) != 0.0f;  // an ordinary batch is all live
      add_surplus(load<F>(total_row + g), live);
      revisers |= std::uint64_t{lane_bits(GroupLanes<F>(lane + g, revise).revise & live)} << g;
    }
    if constexpr (kPorted)
      for (int g = 0; g < kBatch; g += kLanes) store(brings_row + g, zero);
    for (; revisers != 0; revisers &= revisers - 1) {
      const int b = std::countr_zero(revisers);
      const std::int32_t current = code[b];
      const std::int32_t chosen = pick_lane<O>(weight + b, options, current, total_row[b], revise.uniform(lane[b]), switch_extra, last_open);
      code[b] = chosen;
      state_code[b * stride] = static_cast<std::uint8_t>(chosen);  // so that no repacking is needed
      // the activity a switcher from another service brings (an arrival from outside has no
      // history), for the tallies below
      if constexpr (kPorted) brings_row[b] = chosen != current && current != 0 ? bt.activity[b] : 0.0f;
    }
  } else {
    for (int g = 0; g < kBatch; g += kLanes) {
      const I current = load<I>(code + g);
      const F total = load<F>(total_row + g);
      const I live = load<F>(&bt.valid[g]) != 0.0f;
      add_surplus(total, live);
      const GroupLanes<F> lanes(lane + g, revise);
      const I pick = pick_group<O>(weight + g, options, current, total, lanes.uniform(revise), switch_extra, last_open);
      const I chosen = select(live, select(lanes.revise, pick, current), -1);  // lanes past the last consumer count for no option
      store(code + g, chosen);
      if constexpr (kPorted) store(brings_row + g, select((current != chosen) & (current != 0), load<F>(&bt.activity[g]), zero));
    }
  }
  store(mantissa_sum, mantissa);
  store(exponent_sum, exponent);

  // the harm theta (r0 + c d) of each consumer's pick, by table where the sector has up to 8
  // options (lanes past the last consumer have theta 0), summed over the batch in float (at
  // most kBatch / kLanes terms a lane), then added to the lane sums in double
  F harm = zero;
  for (int g = 0; g < kBatch; g += kLanes) {
    const I chosen = load<I>(code + g);
    constexpr bool kTable = kLookup8 && O > 0 && O <= 8;
    F r0 = zero, d = zero;
    if constexpr (kTable) {
      r0 = lookup8(sp.r0_table, chosen), d = lookup8(sp.d_table, chosen);
    } else {
      for (int j = 1; j < options; ++j) r0 = select(chosen == j, term[j].r0, r0), d = select(chosen == j, term[j].d, d);
    }
    harm += load<F>(&bt.theta[g]) * r0 + load<F>(&bt.theta_consent[g]) * d;
  }
  D4 harm_sum[kSumLanes / 4];
  for (int q = 0; q < kSumLanes / 4; ++q) harm_sum[q] = load<D4>(&bt.harm_sum[4 * q]);
  add_to(harm_sum, harm);
  for (int q = 0; q < kSumLanes / 4; ++q) store(&bt.harm_sum[4 * q], harm_sum[q]);

  // Per option, the batch's users, data, consented data and ported data summed in registers
  // over the groups, then added to the option's lane sums. A closed service is never chosen,
  // so its sums stay as they are.
  const auto tally_row = static_cast<std::size_t>(sp.o0) * kSumLanes;
#pragma GCC unroll 8
  for (int j = 1; j < options; ++j) {
    I users = I{};
    F activity = zero, consented = zero, ported = zero;
    for (int g = 0; g < kBatch; g += kLanes) {
      const I on = load<I>(code + g) == j;
      users -= on;  // a true comparison is -1
      activity += select(on, load<F>(&bt.activity[g]), zero);
      consented += select(on, load<F>(&bt.activity_consent[g]), zero);
      if constexpr (kPorted) ported += select(on, load<F>(brings_row + g), zero);
    }
    const std::size_t row = tally_row + static_cast<std::size_t>(j) * kSumLanes;
    store(&bt.users[row], load<I>(&bt.users[row]) + users);
    store(&bt.activity_sum[row], load<F>(&bt.activity_sum[row]) + activity);
    store(&bt.consented_sum[row], load<F>(&bt.consented_sum[row]) + consented);
    if constexpr (kPorted) store(&bt.ported_sum[row], load<F>(&bt.ported_sum[row]) + ported);
  }
}

SectorKernel sector_kernel(int options, bool ported) {
  const auto pick = [&]<bool kPorted>() {
    return by_count<2, 8>(options, []<int O>() -> SectorKernel { return decide_sector<O, kPorted>; });
  };
  return ported ? pick.template operator()<true>() : pick.template operator()<false>();
}

// The choice codes of a batch, code[b * sectors + s] for consumer b in sector s, to and from
// codes[s][b] as int32. With AVX2 and up to four sectors, eight consumers' codes (8 * sectors
// bytes) move at once and are (de)interleaved by byte shuffles; otherwise one at a time.
// Lanes from `count` on read 0.
constexpr int kCodeRun = 8;
#if defined(__AVX2__)
// Byte control for _mm_shuffle_epi8 that takes byte `from` of the 32 bytes a|b from half
// `half` (a is 0, b is 1), or 0 where the byte comes from the other half or from nowhere.
constexpr char from_half(int from, int half) {
  return from >= 16 * half && from < 16 * (half + 1) ? static_cast<char>(from - 16 * half) : static_cast<char>(0x80);
}
// Bytes from(i), i < 16, of a|b.
template <class From, int... i>
__m128i gather_bytes(__m128i a, __m128i b, From from, std::integer_sequence<int, i...>) {
  return _mm_or_si128(_mm_shuffle_epi8(a, _mm_setr_epi8(from_half(from(i), 0)...)), _mm_shuffle_epi8(b, _mm_setr_epi8(from_half(from(i), 1)...)));
}
constexpr auto kBytes16 = std::make_integer_sequence<int, 16>{};

template <int S>
void unpack_run(const std::uint8_t* code, std::int32_t* codes) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(code));
  __m128i b = _mm_setzero_si128();
  if constexpr (S == 3) b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(code + 16));
  if constexpr (S == 4) b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(code + 16));
  [&]<int... s>(std::integer_sequence<int, s...>) {
    (_mm256_storeu_si256(reinterpret_cast<__m256i*>(codes + s * kBatch),
                         _mm256_cvtepu8_epi32(gather_bytes(a, b, [](int i) { return i < kCodeRun ? s + S * i : -1; }, kBytes16))),
     ...);
  }(std::make_integer_sequence<int, S>{});
}

template <int S>
void pack_run(const std::int32_t* codes, std::uint8_t* code) {
  __m128i run[4] = {};  // sector s's eight codes as bytes 0..7
  for (int s = 0; s < S; ++s) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + s * kBatch));
    const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    run[s] = _mm_packus_epi16(words, words);
  }
  const __m128i a = _mm_unpacklo_epi64(run[0], run[1]), b = _mm_unpacklo_epi64(run[2], run[3]);
  // output byte j is consumer j / S in sector j % S, which is byte (j % S) * 8 + j / S of a|b
  const auto low = gather_bytes(a, b, [](int j) { return j < kCodeRun * S ? (j % S) * kCodeRun + j / S : -1; }, kBytes16);
  if constexpr (S <= 2) {
    if constexpr (S == 1) _mm_storel_epi64(reinterpret_cast<__m128i*>(code), low);
    if constexpr (S == 2) _mm_storeu_si128(reinterpret_cast<__m128i*>(code), low);
  } else {
    const auto high = gather_bytes(a, b, [](int j) { return j + 16 < kCodeRun * S ? ((j + 16) % S) * kCodeRun + (j + 16) / S : -1; }, kBytes16);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(code), low);
    if constexpr (S == 3) _mm_storel_epi64(reinterpret_cast<__m128i*>(code + 16), high);
    if constexpr (S == 4) _mm_storeu_si128(reinterpret_cast<__m128i*>(code + 16), high);
  }
}
constexpr bool kVectorCodes = true;
#else
template <int S>
void unpack_run(const std::uint8_t*, std::int32_t*) {}
template <int S>
void pack_run(const std::int32_t*, std::uint8_t*) {}
constexpr bool kVectorCodes = false;
#endif

template <int S>
void unpack_codes(const std::uint8_t* code, int sectors, int count, std::int32_t* codes) {
  int b = 0;
  if constexpr (kVectorCodes && S > 0 && S <= 4)
    for (; b + kCodeRun <= count; b += kCodeRun) unpack_run<S>(code + b * S, codes + b);
  if (b == kBatch) return;  // a full batch is done
  for (int s = 0; s < sectors; ++s) {
    for (int c = b; c < count; ++c) codes[s * kBatch + c] = code[c * sectors + s];
    for (int c = count; c < kBatch; ++c) codes[s * kBatch + c] = 0;
  }
}

template <int S>
void pack_codes(const std::int32_t* codes, int sectors, int count, std::uint8_t* code) {
  int b = 0;
  if constexpr (kVectorCodes && S > 0 && S <= 4)
    for (; b + kCodeRun <= count; b += kCodeRun) pack_run<S>(codes + b, code + b * S);
  if (b == count) return;
  for (int s = 0; s < sectors; ++s)
    for (int c = b; c < count; ++c) code[c * sectors + s] = static_cast<std::uint8_t>(codes[s * kBatch + c]);
}

// All sectors for the batch's consumers, a sector at a time, on rows of codes unpacked from
// the state's; they are packed back where every group picked in vector lanes, while sparse
// picks are stored in the state as they are taken. S is the number of sectors, or 0 for any
// number.
template <int S>
void decide_batch(const Model& m, const PassConstants& k, Consumers& cons, std::uint32_t first, int count, Batch& bt) {
  const int sectors = S > 0 ? S : m.sectors;
  std::uint8_t* code = &cons.choice[static_cast<std::size_t>(first) * static_cast<std::size_t>(sectors)];
  std::int32_t* codes = bt.codes.data();
  unpack_codes<S>(code, sectors, count, codes);
  bt.state_codes = code, bt.sectors = sectors;
  for (int s = 0; s < sectors; ++s) {
    const auto& sp = k.sectors[static_cast<std::size_t>(s)];
    sp.decide(k, sp, s, bt);
  }
  if (!k.revise.sparse) pack_codes<S>(codes, sectors, count, code);  // sparse picks are stored as they are taken
}

void decide_batch_any(const Model& m, const PassConstants& k, Consumers& cons, std::uint32_t first, int count, Batch& bt) {
  by_count<1, 4>(m.sectors, [&]<int S>() { decide_batch<S>(m, k, cons, first, count, bt); });
}

// Writes the lane sums of a finished chunk of `count` consumers into its partials, lanes in
// order, and clears them. A sector's surplus is (shift n + extras + sum of ln(total)) / alpha
// over its n consumers with a finite total, the sum of logarithms taken from the lanes'
// products in double; if that is not finite, all n count as non-finite.
void fold_chunk(const Model& m, const PassConstants& k, const TallyLayout& tl, std::uint32_t count, Batch& bt, double* t) {
  const auto fold = [](auto* lanes, int width) {
    double total = 0;
    for (int b = 0; b < width; ++b) total += lanes[b], lanes[b] = 0;
    return total;
  };
  for (int o = 0; o < m.options; ++o) {
    const auto row = static_cast<std::size_t>(o) * kSumLanes;
    t[tl.users + o] = fold(&bt.users[row], kSumLanes);
    t[tl.data + o] = fold(&bt.activity_sum[row], kSumLanes);
    t[tl.consented + o] = fold(&bt.consented_sum[row], kSumLanes);
    t[tl.ported + o] = fold(&bt.ported_sum[row], kSumLanes);
  }
  t[tl.trust] = fold(bt.trust_sum, kBatch);
  t[tl.consent] = fold(bt.consent_sum, kBatch);
  t[tl.harm] = fold(bt.harm_sum, kSumLanes);
  t[tl.nonfinite] = 0;
  for (int s = 0; s < m.sectors; ++s) {
    const auto row = static_cast<std::size_t>(s) * kSumLanes;
    double logs = 0;
    for (int b = 0; b < kSumLanes; ++b) {
      logs += std::log(static_cast<double>(bt.cs_mantissa[row + b])) + std::numbers::ln2 * bt.cs_exponent[row + b];
      bt.cs_mantissa[row + b] = 1.0f;
      bt.cs_exponent[row + b] = 0;
    }
    auto& excluded = bt.cs_excluded[static_cast<std::size_t>(s)];
    auto& extra = bt.cs_extra[static_cast<std::size_t>(s)];
    const double n = count - excluded;
    double cs = (static_cast<double>(k.sectors[static_cast<std::size_t>(s)].shift) * n + extra + logs) * k.inv_alpha;
    t[tl.nonfinite] += excluded;
    if (!std::isfinite(cs)) t[tl.nonfinite] += n, cs = 0;
    t[tl.sector_cs + s] = cs;
    excluded = extra = 0;
  }
}

// Loads a batch's consumers into the scratch; lanes past the last consumer compute on zeros
// and are never stored.
void load_batch(const Consumers& cons, std::uint32_t first, int count, Batch& bt) {
  const float* __restrict privacy = &cons.privacy[first];
  const float* __restrict activity = &cons.activity[first];
  const float* __restrict trust = &cons.trust[first];
  const std::uint8_t* __restrict consent = &cons.consent[first];
  if (count == kBatch) {
#pragma omp simd
    for (int b = 0; b < kBatch; ++b) {
      bt.valid[b] = 1.0f;
      bt.theta[b] = privacy[b];
      bt.activity[b] = activity[b];
      bt.trust[b] = trust[b];
      bt.consent[b] = static_cast<float>(consent[b]);
    }
    return;
  }
  for (int b = 0; b < kBatch; ++b) {
    const bool valid = b < count;
    bt.valid[b] = valid ? 1.0f : 0.0f;
    bt.theta[b] = valid ? privacy[b] : 0.0f;
    bt.activity[b] = valid ? activity[b] : 0.0f;
    bt.trust[b] = valid ? trust[b] : 0.0f;
    bt.consent[b] = valid ? static_cast<float>(consent[b]) : 0.0f;
  }
}

// Trust and consent back into the state.
void store_batch(Consumers& cons, std::uint32_t first, int count, const Batch& bt) {
  float* __restrict trust = &cons.trust[first];
  std::uint8_t* __restrict consent = &cons.consent[first];
  const auto store = [&](int n) {
#pragma omp simd
    for (int b = 0; b < n; ++b) {
      trust[b] = bt.trust[b];
      consent[b] = static_cast<std::uint8_t>(bt.consent[b]);
    }
  };
  if (count == kBatch)
    store(kBatch);  // a whole batch: a loop of known length
  else
    store(count);
}

}  // namespace

void use_general_peer_count(bool on) { g_general_peer_count = on; }
void use_general_weights(bool on) { g_general_weights = on; }
void use_revisers(Revisers r) { g_revisers = r; }

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
  const Peers peers = k.peer_source;
  const bool words = peers == Peers::kFields;
  if (words) {
    st.peer_words.resize(n);
  } else if (!st.network.empty()) {
    cons.previous.resize(cons.choice.size());  // made by the first pass that needs it
    std::copy(cons.choice.begin(), cons.choice.end(), cons.previous.begin());
  }

#pragma omp parallel
  {
    if (words) build_peer_words_any(m, k.fields, cons, st.peer_words);  // ends with a barrier
    Batch bt(m, k.blocks);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
      double* t = &st.partials[static_cast<std::size_t>(chunk) * tl.width];
      const auto chunk_first = static_cast<std::uint32_t>(chunk) * kChunk;
      const std::uint32_t chunk_last = std::min(n, chunk_first + kChunk);
      for (std::uint32_t first = chunk_first; first < chunk_last; first += kBatch) {
        const int count = static_cast<int>(std::min<std::uint32_t>(kBatch, chunk_last - first));
        for (std::uint32_t block = 0; block < k.blocks; ++block)
          draw_batch<kBatch>(k.keys, Stream::kConsumer, k.step, first, block, bt.lanes[block].lane);
        load_batch(cons, first, count, bt);
        update_trust_and_consent(m, k, opt, cons, first, count, bt);
        if (peers == Peers::kFields)
          count_peers_words(k, st.network, st.peer_words, first, count, bt);
        else if (peers == Peers::kRows)
          count_peers(m, k, st.network, cons, first, count, bt);
        store_batch(cons, first, count, bt);
#pragma omp simd
        for (int b = 0; b < kBatch; ++b) {
          bt.trust_sum[b] += bt.valid[b] * bt.trust[b];
          bt.consent_sum[b] += bt.valid[b] * bt.consent[b];
          bt.theta_consent[b] = bt.theta[b] * bt.consent[b];
          bt.activity_consent[b] = bt.activity[b] * bt.consent[b];
        }
        batch_weights(k, count, bt);
        decide_batch_any(m, k, cons, first, count, bt);
      }
      fold_chunk(m, k, tl, chunk_last - chunk_first, bt, t);
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
