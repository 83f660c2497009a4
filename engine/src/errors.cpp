#include "policysim/errors.hpp"

#include <cstdio>
#include <cstdlib>

namespace policysim {

void check_failed(const char* expr, const std::string& values, const char* file, int line) {
  std::fprintf(stderr, "policysim: internal check failed at %s:%d: %s%s%s\n", file, line, expr,
               values.empty() ? "" : " with ", values.c_str());
  std::abort();
}

}  // namespace policysim
