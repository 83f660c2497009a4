// libFuzzer target over scenario loading: parse_scenario (TOML, keys, types, ranges, references,
// policy events) and build_model (phases, indices). An InputError is the expected answer to
// bad input; anything else (a crash, another exception, a sanitizer report, a hang) is a finding.
// A scenario that loads must also build a model within the engine's limits, and print
// (to_toml_text) as text that loads back to itself.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policysim/errors.hpp"
#include "policysim/model.hpp"
#include "policysim/scenario.hpp"

using namespace policysim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Scenario scenario;
  Model model;
  try {
    scenario = parse_scenario(text, "fuzz.toml");
    model = build_model(scenario);
  } catch (const InputError&) {
    return 0;
  }
  // What the engine assumes of a model that built: one-byte choice codes per sector, a phase
  // for step 0, phases in order.
  bool ok = model.sectors >= 1 && model.sectors <= 255 && !model.phases.empty() && model.phases[0].start == 0;
  for (const auto& services : model.sector_services) ok = ok && services.size() <= 255;
  for (std::size_t i = 1; i < model.phases.size(); ++i)
    ok = ok && model.phases[i].start > model.phases[i - 1].start && model.phases[i].start < model.steps;
  if (!ok) {
    std::fprintf(stderr, "fuzz: a scenario built a model the engine cannot run\n");
    std::abort();
  }
  const std::string resolved = to_toml_text(scenario);
  try {
    const Scenario again = parse_scenario(resolved, "resolved.toml");
    if (to_toml_text(again) != resolved) {
      std::fprintf(stderr, "fuzz: the resolved scenario reads back differently:\n%s\n", resolved.c_str());
      std::abort();
    }
  } catch (const InputError& e) {
    std::fprintf(stderr, "fuzz: the resolved scenario does not load: %s\n%s\n", e.what(), resolved.c_str());
    std::abort();
  }
  return 0;
}
