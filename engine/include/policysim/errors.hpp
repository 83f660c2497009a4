// The three tiers of trouble: bad input throws InputError (exit code 2) with a message that
// names file, line, column, key and what is allowed; a broken internal invariant stops the
// program through POLICYSIM_CHECK with the expression and its values; numerical trouble in the
// hot loop is counted in the state and reported by check_finite (numerics.hpp) after each stage.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace policysim {

// Bad input: a scenario, sweep or command-line value the user can fix.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Failure to read or write a file the user named (permissions, disk full).
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void check_failed(const char* expr, const std::string& values, const char* file,
                               int line);

}  // namespace policysim

#define POLICYSIM_CHECK(cond)                                             \
  do {                                                                    \
    if (!(cond)) ::policysim::check_failed(#cond, "", __FILE__, __LINE__); \
  } while (0)

// Checks `a OP b` and prints both values when it fails.
#define POLICYSIM_CHECK_OP(a, op, b)                                                        \
  do {                                                                                      \
    const auto& policysim_a_ = (a);                                                         \
    const auto& policysim_b_ = (b);                                                         \
    if (!(policysim_a_ op policysim_b_))                                                    \
      ::policysim::check_failed(#a " " #op " " #b,                                          \
                                fmt::format("{} vs {}", policysim_a_, policysim_b_), __FILE__, \
                                __LINE__);                                                  \
  } while (0)
