// Shared test helpers: inline scenarios, running a model for a number of steps, the one
// tolerance helper for floating-point comparisons, and running the command line.
#pragma once

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "policysim/model.hpp"
#include "policysim/scenario.hpp"
#include "policysim/simulation.hpp"
#include "policysim/state.hpp"

namespace policysim::test {

// |actual - expected| <= tol, with both values in the failure message.
#define POLICYSIM_CHECK_NEAR(actual, expected, tol)                                         \
  do {                                                                                      \
    const double policysim_a_ = (actual), policysim_e_ = (expected), policysim_t_ = (tol);  \
    INFO("actual " << policysim_a_ << ", expected " << policysim_e_ << " +/- " << policysim_t_); \
    CHECK(std::abs(policysim_a_ - policysim_e_) <= policysim_t_);                           \
  } while (0)

// A scenario from inline TOML.
inline Scenario scenario_from(const std::string& toml, const std::vector<Override>& overrides = {}) {
  return parse_scenario(toml, "inline.toml", overrides);
}

// Runs `steps` steps of replication 1 and returns the state.
inline State run_steps(const Model& model, std::int64_t steps, std::uint32_t replication = 1) {
  State st = initial_state(model, replication);
  for (std::int64_t t = 0; t < steps; ++t) step(model, st);
  return st;
}

// A fresh empty directory under the system temp directory.
inline std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("policysim-test-{}-{}", name, ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Runs the policysim binary with `args` (shell words); returns the exit code, and the
// combined stdout and stderr in `output`.
inline int run_cli(const std::string& args, std::string* output = nullptr) {
  const auto log = temp_dir("cli-log") / "out.txt";
  const int status = std::system(fmt::format("{} {} > {} 2>&1", POLICYSIM_BINARY, args, log.string()).c_str());
  if (output) *output = read_text(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A small scenario: one sector, two firms, every option at its default.
inline const char* kTwoFirms = R"(
[scenario]
name = "two-firms"
steps = 20
[consumers]
count = 5000
[[sector]]
name = "ecommerce"
[[firm]]
name = "A"
  [[firm.service]]
  name = "a"
  sector = "ecommerce"
  initial_share = 0.5
[[firm]]
name = "B"
  [[firm.service]]
  name = "b"
  sector = "ecommerce"
  initial_share = 0.3
)";

}  // namespace policysim::test
