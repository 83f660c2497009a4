// exp and log for the consumer pass, in plain float arithmetic that the compiler vectorises
// across a batch of consumers. Written out (Cephes' single-precision polynomials, relative
// error below 2e-7) rather than taken from a vector library because the engine builds with
// -ffp-contract=off and these use no fused operations: every lane computes the same IEEE
// operations on SSE2, AVX2 or FMA machines, so results do not depend on the build's target.
#pragma once

#include <bit>
#include <cstdint>

namespace policysim {

// e^x; exactly 0 below -87 (used for options that cannot be chosen).
inline float exp_approx(float x) {
  const float hi = x < 88.0f ? x : 88.0f;
  const float clamped = hi > -87.0f ? hi : -87.0f;
  // n = round(x / ln 2) by the 1.5 * 2^23 trick: one addition and one subtraction, no branch
  constexpr float kRound = 12582912.0f;
  const float n = (clamped * 1.44269504088896341f + kRound) - kRound;
  float r = clamped - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<std::int32_t>(n) + 127) << 23);
  return x < -87.0f ? 0.0f : p * scale;
}

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
