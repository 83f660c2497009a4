// `policysim bench`: its printed fields, the single-thread steps that --speedup pairs with the
// timed ones, and the writing that --output times apart.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "policysim/bench.hpp"
#include "run_helpers.hpp"

using namespace policysim;
using namespace policysim::test;

namespace {

std::map<std::string, std::string> fields(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string key, value;
  while (in >> key >> value) out[key] = value;
  return out;
}

}  // namespace

TEST_CASE("bench: --speedup pairs every timed step with one on a single thread and leaves the run as it is") {
  const auto dir = temp_dir("bench-speedup");
  BenchOptions paired;
  paired.consumers = 5000;
  paired.steps = 4;
  paired.threads = 2;
  paired.network = "watts_strogatz";
  paired.speedup = true;
  paired.output = (dir / "paired").string();
  const BenchResult r = run_bench(paired);
  CHECK(r.threads == 2);
  CHECK(r.one_thread_step_seconds > 0);
  CHECK(r.speedup > 0);
  // the writing is timed apart, inside the step's time
  CHECK(r.output_seconds > 0);
  CHECK(r.output_seconds < r.step_seconds);
  CHECK(r.output_ratio > 1);

  // the same eight steps, all on two threads: the same rows
  BenchOptions plain = paired;
  plain.steps = 8;
  plain.speedup = false;
  plain.output = (dir / "plain").string();
  const BenchResult p = run_bench(plain);
  CHECK(p.speedup == 0);
  CHECK(p.one_thread_step_seconds == 0);
  check_same_csvs(dir / "plain", dir / "paired");
  const std::string metrics = read_text(dir / "paired" / "metrics.csv");
  CHECK(std::count(metrics.begin(), metrics.end(), '\n') == 1 + 8);  // header, eight steps
}

TEST_CASE("cli: bench prints every field, one line per stage, and with --speedup the paired figures") {
  std::string out;
  REQUIRE(run_cli("bench --consumers 3000 --steps 3 --threads 2", &out) == 0);
  auto f = fields(out);
  INFO(out);
  CHECK(f["consumers"] == "3000");
  CHECK(f["sectors"] == "3");
  CHECK(f["services"] == "12");
  CHECK(f["threads"] == "2");
  CHECK(f["steps"] == "3");
  for (const char* key : {"setup_seconds", "step_seconds", "ns_per_decision", "decisions_per_second",
                          "state_bytes_per_consumer", "peak_rss_bytes_per_consumer", "stage_seconds.consumers"}) {
    CAPTURE(key);
    REQUIRE(f.count(key) == 1);
    CHECK(std::stod(f[key]) > 0);
  }
  CHECK(f.count("speedup") == 0);
  CHECK(f.count("output_ratio") == 0);
  for (const auto& name : stage_names()) CHECK(f.count("stage_seconds." + name) == 1);

  const auto dir = temp_dir("bench-cli");
  REQUIRE(run_cli(fmt::format("bench --consumers 3000 --steps 3 --threads 2 --speedup --output {}", (dir / "out").string()), &out) == 0);
  f = fields(out);
  CHECK(std::stod(f.at("speedup")) > 0);
  CHECK(std::stod(f.at("one_thread_step_seconds")) > 0);
  CHECK(std::stod(f.at("output_seconds")) > 0);
  CHECK(std::stod(f.at("output_ratio")) > 1);
  CHECK(std::filesystem::exists(dir / "out" / "metrics.csv"));

  CHECK(run_cli("bench --steps 0", &out) == 2);
  CHECK(out.find("--steps: must be >= 1") != std::string::npos);
}
