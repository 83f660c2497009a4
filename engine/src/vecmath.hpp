// Vectors of lanes and 2^x for the consumer pass, in plain float arithmetic. 2^x is written
// out (relative error below 1.7e-7) rather than taken from a vector library because the engine
// builds with -ffp-contract=off and it uses no fused operations: every lane computes the same
// IEEE operations on SSE2, AVX2 or FMA machines, so results do not depend on the build's
// target.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__SSE__)
#include <immintrin.h>
#endif

namespace policysim {

// Lanes as one value (GCC and Clang vector extensions), so that a group of consumers with
// nothing to do can be skipped. Wide<V> is two values of V side by side with the same
// operators. F8/I8/U8 hold eight lanes: one 32-byte register on AVX2, otherwise two 16-byte
// ones. The consumer pass computes on sixteen lanes (F16) at once, which gives the processor
// independent chains to interleave (its exponentials and logarithms are long dependent
// sequences). The arithmetic per lane is the same whatever the split.
using F4 = float __attribute__((vector_size(16)));
using I4 = std::int32_t __attribute__((vector_size(16)));
using U4 = std::uint32_t __attribute__((vector_size(16)));
using D4 = double __attribute__((vector_size(32)));

template <class V>
struct Wide {
  V lo, hi;
};
template <class T>
struct IsWide : std::false_type {};
template <class V>
struct IsWide<Wide<V>> : std::true_type {};

#if defined(__AVX2__)
using F8 = float __attribute__((vector_size(32)));
using I8 = std::int32_t __attribute__((vector_size(32)));
using U8 = std::uint32_t __attribute__((vector_size(32)));
#else
using F8 = Wide<F4>;
using I8 = Wide<I4>;
using U8 = Wide<U4>;
#endif
using F16 = Wide<F8>;
using I16 = Wide<I8>;
using U16 = Wide<U8>;

template <class T>
inline constexpr bool kScalar = std::is_arithmetic_v<T>;

#define POLICYSIM_WIDE_OPERATOR(op)                                 \
  template <class V>                                                \
  inline auto operator op(Wide<V> a, Wide<V> b) {                   \
    return Wide<decltype(a.lo op b.lo)>{a.lo op b.lo, a.hi op b.hi}; \
  }                                                                 \
  template <class V, class S>                                       \
    requires kScalar<S>                                             \
  inline auto operator op(Wide<V> a, S b) {                         \
    return Wide<decltype(a.lo op b)>{a.lo op b, a.hi op b};         \
  }                                                                 \
  template <class V, class S>                                       \
    requires kScalar<S>                                             \
  inline auto operator op(S a, Wide<V> b) {                         \
    return Wide<decltype(a op b.lo)>{a op b.lo, a op b.hi};         \
  }
POLICYSIM_WIDE_OPERATOR(+)
POLICYSIM_WIDE_OPERATOR(-)
POLICYSIM_WIDE_OPERATOR(*)
POLICYSIM_WIDE_OPERATOR(/)
POLICYSIM_WIDE_OPERATOR(&)
POLICYSIM_WIDE_OPERATOR(|)
POLICYSIM_WIDE_OPERATOR(<<)
POLICYSIM_WIDE_OPERATOR(>>)
POLICYSIM_WIDE_OPERATOR(<)
POLICYSIM_WIDE_OPERATOR(<=)
POLICYSIM_WIDE_OPERATOR(>)
POLICYSIM_WIDE_OPERATOR(>=)
POLICYSIM_WIDE_OPERATOR(==)
POLICYSIM_WIDE_OPERATOR(!=)
#undef POLICYSIM_WIDE_OPERATOR
template <class V, class T>
inline Wide<V>& operator+=(Wide<V>& a, T b) {
  return a = a + b;
}
template <class V, class T>
inline Wide<V>& operator-=(Wide<V>& a, T b) {
  return a = a - b;
}
template <class V, class T>
inline Wide<V>& operator*=(Wide<V>& a, T b) {
  return a = a * b;
}

// One half of a Wide, or a scalar as it is.
template <class T>
inline auto half(const T& x, bool high) {
  if constexpr (IsWide<T>::value)
    return high ? x.hi : x.lo;
  else
    return x;
}
// mask ? a : b per lane; a comparison's true lane is all ones. a and b may be scalars.
template <class M, class A, class B>
inline auto select(M mask, A a, B b) {
  if constexpr (IsWide<M>::value) {
    using V = decltype(select(mask.lo, half(a, false), half(b, false)));
    return Wide<V>{select(mask.lo, half(a, false), half(b, false)), select(mask.hi, half(a, true), half(b, true))};
  } else {
    return mask ? a : b;
  }
}

// a < b ? a : b (kMin) or a > b ? a : b per lane, so b where a lane is nan: one instruction on
// x86, whose min and max return their second operand then.
template <bool kMin, class V, class S>
inline V bound(V a, S b) {
  if constexpr (IsWide<V>::value) {
    return V{bound<kMin>(a.lo, b), bound<kMin>(a.hi, b)};
  } else if constexpr (kScalar<V>) {
    return (kMin ? a < b : a > b) ? a : b;
  } else {
    const V bv = V{} + b;
#if defined(__AVX__)
    if constexpr (sizeof(V) == 32) return kMin ? _mm256_min_ps(a, bv) : _mm256_max_ps(a, bv);
#endif
#if defined(__SSE__)
    if constexpr (sizeof(V) == 16) return kMin ? _mm_min_ps(a, bv) : _mm_max_ps(a, bv);
#endif
    return (kMin ? a < bv : a > bv) ? a : bv;
  }
}
template <class V, class S>
inline V min_of(V a, S b) {
  return bound<true>(a, b);
}
template <class V, class S>
inline V max_of(V a, S b) {
  return bound<false>(a, b);
}

// Loads and stores of whole vectors from and to arrays of lanes (a Wide one half at a time).
template <class V, class T>
inline V load(const T* p) {
  if constexpr (IsWide<V>::value) {
    using H = decltype(V::lo);
    return V{load<H>(p), load<H>(reinterpret_cast<const char*>(p) + sizeof(H))};
  } else {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
}
template <class V, class T>
inline void store(T* p, V v) {
  if constexpr (IsWide<V>::value) {
    store(p, v.lo);
    store(reinterpret_cast<char*>(p) + sizeof v.lo, v.hi);
  } else {
    std::memcpy(p, &v, sizeof v);
  }
}
// The same lanes seen as another type of the same layout.
template <class To, class From>
inline To reinterpret(From v) {
  if constexpr (IsWide<From>::value)
    return To{reinterpret<decltype(To::lo)>(v.lo), reinterpret<decltype(To::hi)>(v.hi)};
  else
    return std::bit_cast<To>(v);
}
// Integer lanes converted to float.
template <class F, class I>
inline F to_float(I n) {
  if constexpr (IsWide<I>::value)
    return F{to_float<decltype(F::lo)>(n.lo), to_float<decltype(F::hi)>(n.hi)};
  else if constexpr (kScalar<I>)
    return static_cast<F>(n);
  else
    return __builtin_convertvector(n, F);
}
// The sign bits of a comparison mask's lanes (each all ones or all zeros), one bit per lane,
// where one instruction gives them (kSignBits).
#if defined(__AVX__)
template <class V>
inline constexpr bool kSignBits = sizeof(V) == 32 || sizeof(V) == 16;
#elif defined(__SSE__)
template <class V>
inline constexpr bool kSignBits = sizeof(V) == 16;
#else
template <class V>
inline constexpr bool kSignBits = false;
#endif
template <class V>
inline int sign_bits(V mask) {
#if defined(__AVX__)
  if constexpr (sizeof(V) == 32) return _mm256_movemask_ps(std::bit_cast<__m256>(mask));
#endif
#if defined(__SSE__)
  if constexpr (sizeof(V) == 16) return _mm_movemask_ps(std::bit_cast<__m128>(mask));
#endif
  return 0;
}
// One bit per lane of a comparison mask, lane i in bit i.
template <class V>
inline std::uint32_t lane_bits(V mask) {
  if constexpr (IsWide<V>::value) {
    return lane_bits(mask.lo) | lane_bits(mask.hi) << (sizeof(mask.lo) / 4);
  } else if constexpr (kSignBits<V>) {
    return static_cast<std::uint32_t>(sign_bits(mask));
  } else {
    std::uint32_t bits = 0;
    for (std::size_t lane = 0; lane < sizeof(V) / 4; ++lane) bits |= (mask[lane] != 0 ? 1u : 0u) << lane;
    return bits;
  }
}
// True if any lane of a comparison mask is set.
template <class V>
inline bool any(V mask) {
  if constexpr (IsWide<V>::value) {
    return any(mask.lo | mask.hi);
  } else if constexpr (kSignBits<V>) {
    return sign_bits(mask) != 0;
  } else {
    std::uint64_t w[sizeof(V) / 8];
    std::memcpy(w, &mask, sizeof w);
    std::uint64_t all = 0;
    for (auto x : w) all |= x;
    return all != 0;
  }
}
// True if every lane of a comparison mask is set.
template <class V>
inline bool all_true(V mask) {
  if constexpr (IsWide<V>::value) {
    return all_true(mask.lo & mask.hi);
  } else if constexpr (kSignBits<V>) {
    return sign_bits(mask) == (1 << (sizeof(V) / 4)) - 1;
  } else {
    std::uint64_t w[sizeof(V) / 8];
    std::memcpy(w, &mask, sizeof w);
    std::uint64_t all = ~std::uint64_t{0};
    for (auto x : w) all &= x;
    return all == ~std::uint64_t{0};
  }
}
// Four float lanes as doubles.
inline D4 widen(F4 four) {
#if defined(__AVX__)
  return std::bit_cast<D4>(_mm256_cvtps_pd(std::bit_cast<__m128>(four)));  // one instruction
#else
  return __builtin_convertvector(four, D4);
#endif
}
// Lanes 4q .. 4q + 3 of v, for each group q of four lanes.
template <class V>
inline F4 four_lanes(const V& v, std::size_t q) {
  static_assert(sizeof v % sizeof(F4) == 0, "whole groups of four lanes");
  F4 four;
  std::memcpy(&four, reinterpret_cast<const char*>(&v) + q * sizeof four, sizeof four);
  return four;
}
// sum += v in double, lane by lane: sum[q] holds lanes 4q .. 4q + 3.
template <class V, std::size_t N>
inline void add_to(D4 (&sum)[N], V v) {
  static_assert(sizeof v == N * sizeof(F4), "one group of four lanes per sum");
  for (std::size_t q = 0; q < N; ++q) sum[q] += widen(four_lanes(v, q));
}

// Lanes of an eight-entry table, table[index & 7], where one instruction does it (AVX2).
#if defined(__AVX2__)
inline constexpr bool kLookup8 = true;
inline F8 lookup8(const float* table, I8 index) {
  return std::bit_cast<F8>(_mm256_permutevar8x32_ps(std::bit_cast<__m256>(load<F8>(table)), std::bit_cast<__m256i>(index)));
}
#else
inline constexpr bool kLookup8 = false;
inline F8 lookup8(const float*, I8) { return F8{}; }
#endif

template <class F>
struct IntOf {
  using type = std::int32_t;
  using unsigned_type = std::uint32_t;
};
template <>
struct IntOf<F8> {
  using type = I8;
  using unsigned_type = U8;
};
template <>
struct IntOf<F16> {
  using type = I16;
  using unsigned_type = U16;
};

// The bits of 2^(i/8), less i << 20, for i = 0 .. 7: the table of exp2_approx.
inline constexpr std::uint32_t eighth_bits(int i) {
  constexpr float kEighths[8] = {1.0f,          1.09050773266f, 1.18920711500f, 1.29683955465f,
                                 1.41421356237f, 1.54221082541f, 1.68179283051f, 1.83400808641f};
  return std::bit_cast<std::uint32_t>(kEighths[i]) - (static_cast<std::uint32_t>(i) << 20);
}
alignas(32) inline constexpr std::uint32_t kEighthBits[8] = {eighth_bits(0), eighth_bits(1), eighth_bits(2), eighth_bits(3),
                                                              eighth_bits(4), eighth_bits(5), eighth_bits(6), eighth_bits(7)};
// kEighthBits[i & 7] for each lane of i: one permute on AVX2, else a load per lane.
template <class U>
inline U eighths(U i) {
  if constexpr (IsWide<U>::value) {
    return U{eighths(i.lo), eighths(i.hi)};
  } else if constexpr (kScalar<U>) {
    return kEighthBits[i & 7];
  } else {
#if defined(__AVX2__)
    if constexpr (sizeof(U) == 32)
      return std::bit_cast<U>(_mm256_permutevar8x32_epi32(std::bit_cast<__m256i>(load<U>(kEighthBits)), std::bit_cast<__m256i>(i)));
#endif
    U out;
    for (std::size_t lane = 0; lane < sizeof(U) / 4; ++lane) out[lane] = kEighthBits[i[lane] & 7];
    return out;
  }
}

// 2^t, t clamped to [-126, 126]; relative error below 1.7e-7. t = k/8 + f with k the nearest
// integer to 8t, found by the 1.5 * 2^20 trick (the sum's low mantissa bits are k), so 2^t is
// 2^(k >> 3) 2^((k & 7)/8) 2^f: the power of two added to the exponent, the eighth from a
// table, and 2^f on [-1/16, 1/16] by a cubic fitted for least maximum relative error
// (2.5e-8). The sum's bits shifted left by 20 are k << 20, that is the power of two in the
// exponent plus (k & 7) << 20, which the table's entries have taken off in advance. The
// consumer pass works in log2 units, so the scaling by 1/ln 2 is folded into its per-step
// constants. F is float, F8 or F16. Where t is known to be at most 126 (kBelow126), only the
// lower clamp is applied.
template <bool kBelow126 = false, class F>
inline F exp2_approx(F t) {
  using U = typename IntOf<F>::unsigned_type;
  if constexpr (!kBelow126) t = min_of(t, 126.0f);
  t = max_of(t, -126.0f);
  constexpr float kRound = 1572864.0f;  // 1.5 * 2^20, whose float spacing is 1/8
  const F r = t + kRound;
  const F f = t - (r - kRound);
  F p = f * 5.5496220e-2f + 2.4025764e-1f;
  p = p * f + 6.9314724e-1f;
  p = p * f + 1.0f;
  const U bits = reinterpret<U>(r);
  return p * reinterpret<F>(eighths(bits) + (bits << 20u));
}

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2 = 0.693147180559945309f;

}  // namespace policysim
