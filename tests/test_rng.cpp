#include "helpers.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

#include "policysim/rng.hpp"
#include "vecmath.hpp"

namespace policysim::test {

TEST_CASE("rng: draw_batch gives every id the lanes of draw(), on the vector path and the portable one") {
  const RngKey key{0x123456789abcdefULL, 7};
  for (std::uint32_t first : {0u, 1u, 4093u, 0xffffffc0u}) {
    std::uint32_t wide[4][64];  // a multiple of 8: the AVX2 path where the build has it
    std::uint32_t narrow[4][3];  // not a multiple of 8: always the portable loop
    draw_batch<64>(key, Stream::kConsumer, 11, first, 1, wide);
    draw_batch<3>(key, Stream::kConsumer, 11, first, 1, narrow);
    for (std::uint32_t b = 0; b < 64; ++b) {
      const Lanes one = draw(key, Stream::kConsumer, 11, first + b, 1);
      for (int lane = 0; lane < 4; ++lane) {
        REQUIRE(wide[lane][b] == one[lane]);
        if (b < 3) REQUIRE(narrow[lane][b] == one[lane]);
      }
    }
  }
}

TEST_CASE("rng: a lane is at or above unit_threshold(c) exactly when c is at or below its uniform") {
  // c at lanes' uniforms and one step either side of them, at the ends, and between
  std::vector<double> shares = {-0.5, 0.0, 1e-300, 0.3, 0.5, 0.999999, 1.0, 1.5};
  for (std::uint32_t x : {0u, 1u, 2u, 12345u, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu}) {
    const double u = to_unit(x);
    shares.insert(shares.end(), {u, std::nextafter(u, 0.0), std::nextafter(u, 2.0)});
  }
  std::int64_t wrong = 0, checked = 0;
  for (double c : shares) {
    const std::int64_t t = unit_threshold(c);
    for (std::int64_t x = t - 3; x <= t + 3; ++x) {
      if (x < 0 || x > 0xffffffffLL) continue;
      ++checked;
      wrong += (x >= t) != (c <= to_unit(static_cast<std::uint32_t>(x)));
    }
  }
  CHECK(checked > 100);
  CHECK(wrong == 0);
  CHECK(unit_threshold(0.0) == 0);
  CHECK(unit_threshold(1.0) > 0xffffffffLL);
}

TEST_CASE("vecmath: exp2_approx is within 1.7e-7 of 2^t on [-126, 126] and clamps outside it") {
  double worst = 0;
  for (double t = -126.0; t <= 126.0; t += 0.000977) {
    const auto f = static_cast<float>(t);
    worst = std::max(worst, std::abs(exp2_approx(f) / std::exp2(static_cast<double>(f)) - 1.0));
  }
  CHECK(worst < 1.7e-7);
  CHECK(exp2_approx(-1000.0f) == exp2_approx(-126.0f));
  CHECK(exp2_approx(1000.0f) == exp2_approx(126.0f));
  CHECK(exp2_approx(0.0f) == 1.0f);
  // without the upper clamp, the same up to 126
  std::int64_t differ = 0;
  for (double t = -1000.0; t <= 126.0; t += 0.0131) differ += exp2_approx<true>(static_cast<float>(t)) != exp2_approx(static_cast<float>(t));
  CHECK(differ == 0);
}

TEST_CASE("vecmath: exp2_approx gives every lane of F8 and F16 the scalar result") {
  // arguments across the range, at and between the table's eighths, and clamped ones
  std::vector<float> t;
  for (double x = -130.0; x <= 130.0; x += 0.0371) t.push_back(static_cast<float>(x));
  for (int k = -1016; k <= 1016; ++k) t.push_back(static_cast<float>(k) / 8.0f), t.push_back(std::nextafter(static_cast<float>(k) / 8.0f, 0.0f));
  while (t.size() % 16 != 0) t.push_back(0.0f);
  std::int64_t differ = 0;
  for (std::size_t i = 0; i < t.size(); i += 16) {
    alignas(64) float eight[8], sixteen[16];
    store(eight, exp2_approx(load<F8>(&t[i])));
    store(sixteen, exp2_approx(load<F16>(&t[i])));
    alignas(64) float below[8];  // the lanes below 126 without the upper clamp
    store(below, exp2_approx<true>(min_of(load<F8>(&t[i]), 126.0f)));
    for (int lane = 0; lane < 16; ++lane) {
      const float scalar = exp2_approx(t[i + static_cast<std::size_t>(lane)]);
      differ += sixteen[lane] != scalar;
      if (lane < 8) differ += eight[lane] != scalar || below[lane] != exp2_approx(std::min(t[i + static_cast<std::size_t>(lane)], 126.0f));
    }
  }
  CHECK(differ == 0);
}

}  // namespace policysim::test
