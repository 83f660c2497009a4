// Counter-based randomness: every draw is a pure function of (seed, replication, stream, step,
// entity id, block), computed with Philox4x32-10, so no result depends on which thread or rank
// made the draw or in what order. One call yields four 32-bit lanes.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include <Random123/philox.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace policysim {

// What a draw is for; part of the counter, so streams never overlap.
enum class Stream : std::uint32_t {
  kPopulation = 1,     // consumer attributes (id = consumer)
  kInitialChoice = 2,  // initial service per sector (id = consumer)
  kNetwork = 3,        // graph generation (id = node)
  kConsumer = 4,       // per-step consent and choice revision (id = consumer)
  kBreach = 5,         // per-step breaches (id = firm; the JV is id = firms)
};

struct RngKey {
  std::uint64_t seed = 1;
  std::uint32_t replication = 1;
};

using Lanes = std::array<std::uint32_t, 4>;

// The four lanes for one (stream, step, id, block).
inline Lanes draw(const RngKey& key, Stream stream, std::uint32_t step, std::uint32_t id,
                  std::uint32_t block) {
  using Philox = r123::Philox4x32;
  const Philox::key_type k{{static_cast<std::uint32_t>(key.seed),
                            static_cast<std::uint32_t>(key.seed >> 32)}};
  const Philox::ctr_type c{{id, step, (static_cast<std::uint32_t>(stream) << 24) | block,
                            key.replication}};
  const auto r = Philox()(c, k);
  return {r[0], r[1], r[2], r[3]};
}

// draw() for `Width` consecutive ids at once, lanes in structure-of-arrays order:
// out[lane][b] is lane `lane` of draw(key, stream, step, first_id + b, block). On AVX2 eight
// ids run at once, each counter word as two registers of four 64-bit lanes (ids 0, 1, 4, 5 and
// 2, 3, 6, 7 of the eight), so that one multiply gives both halves of a 32x32->64 product; the
// upper 32 bits of a lane are left as they fall, since the multiplies read only the lower ones.
// Elsewhere the same rounds are written on arrays for the compiler to vectorise. Both are
// integer arithmetic, so every build gives the same lanes.
//
// A caller drawing many batches under one key passes its RoundKeys, made once.
struct RoundKeys {
  explicit RoundKeys(const RngKey& k) : key(k) {
#if defined(__AVX2__)
    auto k0 = static_cast<std::uint32_t>(k.seed), k1 = static_cast<std::uint32_t>(k.seed >> 32);
    for (int round = 0; round < 10; ++round, k0 += 0x9E3779B9u, k1 += 0xBB67AE85u) {
      lanes[round][0] = _mm256_set1_epi32(static_cast<int>(k0));
      lanes[round][1] = _mm256_set1_epi32(static_cast<int>(k1));
    }
#endif
  }
  RngKey key;
#if defined(__AVX2__)
  __m256i lanes[10][2];  // the key of each round, in every lane
#endif
};

template <int Width>
inline void draw_batch(const RoundKeys& keys, Stream stream, std::uint32_t step, std::uint32_t first_id,
                       std::uint32_t block, std::uint32_t (&out)[4][Width]) {
  const RngKey& key = keys.key;
  const std::uint32_t word2 = (static_cast<std::uint32_t>(stream) << 24) | block;
  const auto seed_lo = static_cast<std::uint32_t>(key.seed), seed_hi = static_cast<std::uint32_t>(key.seed >> 32);
#if defined(__AVX2__)
  if constexpr (Width % 8 == 0) {
    const __m256i m0 = _mm256_set1_epi64x(0xD2511F53u), m2 = _mm256_set1_epi64x(0xCD9E8D57u);
    const auto& round_key = keys.lanes;
    const __m256i c1_start = _mm256_set1_epi32(static_cast<int>(step)), c2_start = _mm256_set1_epi32(static_cast<int>(word2));
    const __m256i c3_start = _mm256_set1_epi32(static_cast<int>(key.replication));
    const __m256i ids_a = _mm256_setr_epi64x(0, 1, 4, 5), ids_b = _mm256_setr_epi64x(2, 3, 6, 7);
    const auto xor3 = [](__m256i a, __m256i b, __m256i c) { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); };
    // Only word 0 of the counter differs between ids: the first two rounds' terms that do not
    // depend on it are the same for every id, and are computed once.
    const __m256i p2_first = _mm256_mul_epu32(c2_start, m2);  // round 0's product of word 2
    const __m256i w0_second = xor3(_mm256_srli_epi64(p2_first, 32), c1_start, round_key[0][0]);  // word 0 after round 0
    const __m256i w1_second = p2_first, k3_first = _mm256_xor_si256(c3_start, round_key[0][1]);
    const __m256i p0_second = _mm256_mul_epu32(w0_second, m0);  // round 1's product of word 0
    const __m256i k0_second = _mm256_xor_si256(w1_second, round_key[1][0]);
    const __m256i k2_second = _mm256_xor_si256(_mm256_srli_epi64(p0_second, 32), round_key[1][1]);
    for (int b = 0; b < Width; b += 8) {
      const __m256i base = _mm256_set1_epi64x(first_id + static_cast<std::uint32_t>(b));
      __m256i c[2][4];
      for (int half = 0; half < 2; ++half) {
        auto& h = c[half];
        // round 0: word 0 is the id
        const __m256i p0 = _mm256_mul_epu32(_mm256_add_epi64(base, half == 0 ? ids_a : ids_b), m0);
        const __m256i w2 = _mm256_xor_si256(_mm256_srli_epi64(p0, 32), k3_first);
        // round 1: word 0 is the same for every id
        const __m256i p2 = _mm256_mul_epu32(w2, m2);
        h[0] = _mm256_xor_si256(_mm256_srli_epi64(p2, 32), k0_second);
        h[2] = _mm256_xor_si256(p0, k2_second);
        h[1] = p2;
        h[3] = p0_second;
      }
      for (int round = 2; round < 10; ++round)
        for (auto& h : c) {
          const __m256i p0 = _mm256_mul_epu32(h[0], m0), p2 = _mm256_mul_epu32(h[2], m2);
          h[0] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p2, 32), h[1]), round_key[round][0]);
          h[2] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), h[3]), round_key[round][1]);
          h[1] = p2;
          h[3] = p0;
        }
      // the lower halves of a's and b's lanes, in id order 0..7
      for (int lane = 0; lane < 4; ++lane) {
        const __m256 joined = _mm256_shuffle_ps(_mm256_castsi256_ps(c[0][lane]), _mm256_castsi256_ps(c[1][lane]), 0x88);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(&out[lane][b]), _mm256_castps_si256(joined));
      }
    }
    return;
  }
#endif
  // The rounds run inside the loop over ids, so each id's counter stays in registers.
#pragma omp simd
  for (int b = 0; b < Width; ++b) {
    std::uint32_t c0 = first_id + static_cast<std::uint32_t>(b), c1 = step, c2 = word2, c3 = key.replication;
    std::uint32_t k0 = seed_lo, k1 = seed_hi;
    for (int round = 0; round < 10; ++round) {
      const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c0;
      const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c2;
      const auto n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
      const auto n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
      c1 = static_cast<std::uint32_t>(p1);
      c3 = static_cast<std::uint32_t>(p0);
      c0 = n0;
      c2 = n2;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    out[0][b] = c0;
    out[1][b] = c1;
    out[2][b] = c2;
    out[3][b] = c3;
  }
}

template <int Width>
inline void draw_batch(const RngKey& key, Stream stream, std::uint32_t step, std::uint32_t first_id,
                       std::uint32_t block, std::uint32_t (&out)[4][Width]) {
  draw_batch<Width>(RoundKeys(key), stream, step, first_id, block, out);
}

// A lane as a double uniform in (0, 1), never exactly 0 or 1.
inline double to_unit(std::uint32_t x) { return (static_cast<double>(x) + 0.5) * 0x1p-32; }

// The least lane x with c <= to_unit(x), as a threshold to compare lanes with: c <= to_unit(x)
// exactly when x >= ceil(c 2^32 - 0.5), computed exactly in double for c below 2^20 (0 for c
// at or below the least uniform, 2^32 or more for c above the largest).
inline std::int64_t unit_threshold(double c) { return static_cast<std::int64_t>(std::ceil(std::min(c, 0x1p20) * 0x1p32 - 0.5)); }

// A probability as a 32-bit threshold: `lane < threshold(p)` happens with probability p.
inline std::uint64_t threshold(double p) {
  if (p <= 0) return 0;
  if (p >= 1) return std::uint64_t{1} << 32;
  return static_cast<std::uint64_t>(p * 0x1p32);
}

// A uniform random bit generator over one (stream, step, id): successive blocks of the
// counter, four lanes each. Lets Boost.Random's distributions draw counter-based numbers. The
// first blocks may come already drawn (`ahead`, e.g. by draw_batch for several ids at once);
// the rest are drawn as they are needed. Either way the numbers are the same.
class CounterEngine {
 public:
  using result_type = std::uint32_t;
  CounterEngine(const RngKey& key, Stream stream, std::uint32_t step, std::uint32_t id, const Lanes* ahead = nullptr,
                std::uint32_t ahead_blocks = 0)
      : key_(key), stream_(stream), step_(step), id_(id), ahead_(ahead), ahead_blocks_(ahead_blocks) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() {
    if (lane_ == 4) {
      lanes_ = block_ < ahead_blocks_ ? ahead_[block_] : draw(key_, stream_, step_, id_, block_);
      ++block_;
      lane_ = 0;
    }
    return lanes_[lane_++];
  }

 private:
  RngKey key_;
  Stream stream_;
  std::uint32_t step_, id_;
  const Lanes* ahead_;
  std::uint32_t ahead_blocks_;
  std::uint32_t block_ = 0;
  Lanes lanes_{};
  int lane_ = 4;
};

}  // namespace policysim
