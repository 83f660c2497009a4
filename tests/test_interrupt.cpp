// Interrupts: SIGINT and SIGTERM stop `policysim run` at the end of a step with a checkpoint,
// an "interrupted" manifest and the CSVs kept as .part files, exit 130 / 143, and --resume
// finishes the run with files byte-identical to a run that never stopped. The binary runs as
// a child process; the signal is sent once its first checkpoint exists, so the test does not
// depend on timing.
#include <csignal>

#include <nlohmann/json.hpp>

#include "checkpoint.hpp"
#include "helpers.hpp"
#include "policysim/interrupt.hpp"
#include "policysim/run.hpp"
#include "run_helpers.hpp"

using namespace policysim;
using namespace policysim::test;
namespace fs = std::filesystem;

namespace {

// kRich long enough that a run is still going when the test reacts to its first checkpoint.
std::vector<std::string> long_run(const fs::path& scenario, bool network) {
  std::vector<std::string> args{"run", scenario.string(), "--quiet", "--steps", "1000", "--set", "consumers.count=4000"};
  if (network) args.insert(args.end(), {"--set", "network.kind=watts_strogatz"});
  return args;
}

}  // namespace

TEST_CASE("interrupt: the stop flag records the first signal and clears") {
  clear_stop();
  CHECK(!stop_requested());
  CHECK(stop_signal() == 0);
  request_stop(SIGTERM);
  CHECK(stop_requested());
  CHECK(stop_signal() == SIGTERM);
  clear_stop();
  {
    const StopHandlers handlers;
    std::raise(SIGINT);  // handled: sets the flag instead of ending the test binary
    CHECK(stop_requested());
    CHECK(stop_signal() == SIGINT);
  }
  clear_stop();
}

TEST_CASE("cli: SIGINT and SIGTERM stop a run at a step boundary with exit 130 / 143; --resume completes it identically") {
  const auto dir = temp_dir("cli-signal");
  write_text(dir / "rich.toml", kRich);
  for (const bool network : {false, true}) {
    CAPTURE(network);
    auto ref_args = long_run(dir / "rich.toml", network);
    const fs::path ref = dir / (network ? "ref-ws" : "ref");
    ref_args.insert(ref_args.end(), {"--out", ref.string(), "--threads", "2"});
    REQUIRE(CliProcess(ref_args, dir / "ref.log").wait() == 0);
    for (const int threads : {1, 2}) {
      const int sig = threads == 1 ? SIGINT : SIGTERM;
      CAPTURE(threads);
      CAPTURE(sig);
      const fs::path out = dir / fmt::format("run-{}-{}", network, threads);
      auto args = long_run(dir / "rich.toml", network);
      args.insert(args.end(), {"--out", out.string(), "--threads", std::to_string(threads), "--checkpoint-every", "10"});
      CliProcess run(args, dir / "run.log");
      REQUIRE(run.wait_for(out / kCheckpointName));
      run.signal(sig);
      const int code = run.wait();
      CAPTURE(run.output());
      REQUIRE(code == 128 + sig);
      CHECK(run.output().find(fmt::format("interrupted by {}", sig == SIGINT ? "SIGINT" : "SIGTERM")) !=
            std::string::npos);
      CHECK(run.output().find("resume with:") != std::string::npos);
      const auto manifest = nlohmann::json::parse(read_text(out / "manifest.json"));
      CHECK(manifest["status"] == "interrupted");
      CHECK(manifest["checkpoint"] == (out / kCheckpointName).string());
      CHECK(manifest["steps_done"].get<std::int64_t>() < 1000);
      // only complete files under final names: the checkpoint and the manifest
      CHECK(final_files(out) == std::vector<std::string>{"checkpoint.bin", "manifest.json"});
      CHECK(fs::exists(out / ".metrics.csv.part"));
      // resume with the other thread count
      auto resume = long_run(dir / "rich.toml", network);
      resume.insert(resume.end(), {"--threads", std::to_string(3 - threads), "--resume", (out / kCheckpointName).string()});
      CliProcess resumed(resume, dir / "resume.log");
      CAPTURE(resumed.output());
      REQUIRE(resumed.wait() == 0);
      check_same_csvs(ref, out);
      CHECK(nlohmann::json::parse(read_text(out / "manifest.json"))["status"] == "complete");
    }
  }
}

TEST_CASE("cli: after SIGKILL the last periodic checkpoint resumes the run byte-identically") {
  const auto dir = temp_dir("cli-kill");
  write_text(dir / "rich.toml", kRich);
  auto ref_args = long_run(dir / "rich.toml", false);
  ref_args.insert(ref_args.end(), {"--out", (dir / "ref").string()});
  REQUIRE(CliProcess(ref_args, dir / "ref.log").wait() == 0);
  const fs::path out = dir / "run";
  auto args = long_run(dir / "rich.toml", false);
  args.insert(args.end(), {"--out", out.string(), "--checkpoint-every", "40"});
  CliProcess run(args, dir / "run.log");
  REQUIRE(run.wait_for(out / kCheckpointName));
  run.signal(SIGKILL);
  REQUIRE(run.wait() == 128 + SIGKILL);
  CHECK(!fs::exists(out / "manifest.json"));
  auto resume = long_run(dir / "rich.toml", false);
  resume.insert(resume.end(), {"--resume", (out / kCheckpointName).string()});
  REQUIRE(CliProcess(resume, dir / "resume.log").wait() == 0);
  check_same_csvs(dir / "ref", out);
}
