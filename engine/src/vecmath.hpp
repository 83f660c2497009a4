// 2^x and ln x for the consumer pass, in plain float arithmetic that the compiler vectorises
// across a batch of consumers. Written out (relative error below 2e-7; the log is Cephes'
// single-precision polynomial) rather than taken from a vector library because the engine builds with
// -ffp-contract=off and these use no fused operations: every lane computes the same IEEE
// operations on SSE2, AVX2 or FMA machines, so results do not depend on the build's target.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace policysim {

// Eight lanes as one value (GCC and Clang vector extensions): used where lanes are taken a
// vector at a time, so that a group with nothing to do can be skipped. On targets without
// 32-byte vectors the compiler splits them; the arithmetic per lane is the same.
using F8 = float __attribute__((vector_size(32)));
using I8 = std::int32_t __attribute__((vector_size(32)));
using U8 = std::uint32_t __attribute__((vector_size(32)));
template <class V, class T>
inline V load8(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class V, class T>
inline void store8(T* p, V v) {
  std::memcpy(p, &v, sizeof v);
}
// True if any lane of a comparison mask is set.
inline bool any8(I8 mask) {
  std::uint64_t w[4];
  std::memcpy(w, &mask, sizeof w);
  return (w[0] | w[1] | w[2] | w[3]) != 0;
}

template <class F>
struct IntOf {
  using type = std::int32_t;
};
template <>
struct IntOf<F8> {
  using type = I8;
};

// 2^t, t clamped to [-126, 126]; relative error below 2e-7. t = n + f with n the nearest
// integer, found by the 1.5 * 2^23 trick (the sum's low mantissa bits are n), and 2^f on
// [-1/2, 1/2] by a degree-5 polynomial fitted for least maximum relative error. The consumer
// pass works in log2 units, so the scaling by 1/ln 2 is folded into its per-step constants.
// F is float or F8.
template <class F>
inline F exp2_approx(F t) {
  using I = typename IntOf<F>::type;
  t = t < 126.0f ? t : 126.0f;
  t = t > -126.0f ? t : -126.0f;
  constexpr float kRound = 12582912.0f;
  const F r = t + kRound;
  const F f = t - (r - kRound);
  F p = f * 1.3264727e-3f + 9.6715129e-3f;
  p = p * f + 5.5507337e-2f;
  p = p * f + 2.4022242e-1f;
  p = p * f + 6.9314698e-1f;
  p = p * f + 1.0f;
  const I n = std::bit_cast<I>(r) - std::bit_cast<std::int32_t>(kRound);
  return p * std::bit_cast<F>((n + 127) << 23);
}

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2 = 0.693147180559945309f;

// ln x for finite x > 0 (normal floats).
inline float log_approx(float x) {
  const auto bits = std::bit_cast<std::int32_t>(x);
  float e = static_cast<float>(((bits >> 23) & 0xff) - 126);
  float m = std::bit_cast<float>((bits & 0x007fffff) | 0x3f000000);  // m in [0.5, 1)
  // fold m into [sqrt(1/2), sqrt(2)) and take f = m - 1
  const bool low = m < 0.707106781186547524f;
  e = low ? e - 1.0f : e;
  const float f = low ? (m + m - 1.0f) : (m - 1.0f);
  const float z = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  float y = f * z * p;
  y = y + e * -2.12194440e-4f;
  y = y - 0.5f * z;
  return f + y + e * 0.693359375f;
}

}  // namespace policysim
