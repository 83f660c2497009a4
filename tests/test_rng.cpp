#include "helpers.hpp"

#include <cmath>
#include <cstdint>

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

TEST_CASE("vecmath: exp2_approx is within 2e-7 of 2^t on [-126, 126] and clamps outside it") {
  double worst = 0;
  for (double t = -126.0; t <= 126.0; t += 0.000977) {
    const auto f = static_cast<float>(t);
    worst = std::max(worst, std::abs(exp2_approx(f) / std::exp2(static_cast<double>(f)) - 1.0));
  }
  CHECK(worst < 2e-7);
  CHECK(exp2_approx(-1000.0f) == exp2_approx(-126.0f));
  CHECK(exp2_approx(1000.0f) == exp2_approx(126.0f));
  CHECK(exp2_approx(0.0f) == 1.0f);
}

}  // namespace policysim::test
