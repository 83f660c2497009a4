// Replays the inputs of the scenario fuzzer (tests/fuzz/): every file in regressions/ (inputs
// that once crashed it) and in corpus/ (its seeds) either loads and builds a model or is
// refused with an InputError; nothing else may happen (a crash fails the whole suite).
#include <algorithm>
#include <filesystem>

#include "helpers.hpp"
#include "policysim/errors.hpp"

using namespace policysim;
using namespace policysim::test;
namespace fs = std::filesystem;

TEST_CASE("fuzz: every saved fuzz input parses or is refused with InputError") {
  std::vector<fs::path> files;
  for (const char* sub : {"regressions", "corpus"})
    for (const auto& e : fs::directory_iterator(fs::path(POLICYSIM_FUZZ_DIR) / sub))
      if (e.is_regular_file() && e.path().filename() != "README.md") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 10);
  int accepted = 0, refused = 0;
  for (const auto& file : files) {
    CAPTURE(file.string());
    try {
      const Scenario s = parse_scenario(read_text(file), file.filename().string());
      const Model m = build_model(s);
      CHECK(m.sectors > 0);
      // the resolved text reads back to the same scenario
      CHECK(to_toml_text(parse_scenario(to_toml_text(s), "resolved")) == to_toml_text(s));
      ++accepted;
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).size() > 0);
      ++refused;
    }
  }
  CHECK(accepted > 0);
  CHECK(refused > 0);
}
