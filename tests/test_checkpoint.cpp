// Checkpoints (engine/src/checkpoint.cpp) and resumed runs: the field list covers all of State,
// a restored state equals the saved one and steps on identically, a resumed run writes files
// byte-identical to one that never stopped (with and without a network, 1 and 2 threads,
// replications, after a crash), and checkpoints of another run are refused.
#include <csignal>
#include <cstring>
#include <utility>

#include "checkpoint.hpp"
#include "helpers.hpp"
#include "policysim/errors.hpp"
#include "policysim/interrupt.hpp"
#include "policysim/run.hpp"
#include "policysim/version.hpp"
#include "run_helpers.hpp"

using namespace policysim;
using namespace policysim::test;
namespace fs = std::filesystem;

namespace {

// The number of fields of an aggregate: the most initialisers T{...} accepts, each one an
// object that converts to any type (so no brace elision into nested aggregates).
struct AnyField {
  template <class T>
  operator T() const;
};
template <class T, std::size_t... I>
constexpr bool takes_fields(std::index_sequence<I...>) {
  return requires { T{(static_cast<void>(I), AnyField{})...}; };
}
template <class T, std::size_t N = 0>
constexpr std::size_t field_count() {
  if constexpr (takes_fields<T>(std::make_index_sequence<N + 1>{})) return field_count<T, N + 1>();
  else return N;
}

std::size_t listed_with_prefix(const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& name : state_field_names()) n += name.rfind(prefix + ".", 0) == 0;
  return n;
}

Model rich_model(bool network, std::int64_t steps = 60) {
  std::vector<Override> o{{"scenario.steps", std::to_string(steps)}};
  if (network) o.push_back({"network.kind", "watts_strogatz"});
  return build_model(scenario_from(kRich, o));
}

RunOptions run_options(const fs::path& dir, const std::string& toml, const std::string& out) {
  write_text(dir / "scenario.toml", toml);
  RunOptions o;
  o.scenario_path = (dir / "scenario.toml").string();
  o.out = (dir / out).string();
  o.quiet = true;
  return o;
}

// Runs `o` and stops it (as SIGINT would) once replication `rep` has written `steps` steps.
void run_until_stopped(RunOptions o, std::int64_t rep, std::int64_t steps) {
  clear_stop();
  o.after_step = [&](std::int64_t r, std::int64_t done) {
    if (r == rep && done == steps) request_stop(SIGINT);
  };
  try {
    run_scenario(o);
    FAIL("the run was not interrupted");
  } catch (const RunInterrupted& e) {
    CHECK(e.signal == SIGINT);
    CHECK(e.exit_code() == 130);
    CHECK(e.replication == rep);
    CHECK(e.steps_done == steps);
    CHECK(e.resume_command.find("--resume") != std::string::npos);
  }
  clear_stop();
}

// Flips the byte at `offset` of a file.
void patch_byte(const fs::path& path, std::size_t offset, char value) {
  std::string bytes = read_text(path);
  REQUIRE(offset < bytes.size());
  bytes[offset] = value;
  write_text(path, bytes);
}

}  // namespace

TEST_CASE("checkpoint: the field list covers every field of State") {
  // A field added to State or one of its parts must be added to for_each_state_field in
  // engine/src/checkpoint.cpp (and kCheckpointFormat raised); these counts say which part.
  const std::pair<const char*, std::size_t> parts[] = {
      {"key", field_count<RngKey>()},        {"consumers", field_count<Consumers>()},
      {"network", field_count<Network>()},   {"services", field_count<Services>()},
      {"firms", field_count<Firms>()},       {"jv", field_count<Jv>()},
      {"totals", field_count<StepTotals>()}, {"options", field_count<OptionTable>()}};
  std::size_t listed_parts = 0, listed_fields = 0;
  for (const auto& [prefix, fields] : parts) {
    INFO(prefix << " has " << fields << " fields in state.hpp and " << listed_with_prefix(prefix)
                << " in the checkpoint's field list (engine/src/checkpoint.cpp)");
    CHECK(listed_with_prefix(prefix) == fields);
    listed_parts += 1;
    listed_fields += listed_with_prefix(prefix);
  }
  // State's own fields: the parts above plus its scalars and arrays (step, partials)
  const auto names = state_field_names();
  const std::size_t top_level = listed_parts + (names.size() - listed_fields);
  INFO("State has " << field_count<State>() << " fields, the checkpoint lists " << top_level);
  CHECK(field_count<State>() == top_level);
  // names are unique
  auto sorted = names;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
}

TEST_CASE("checkpoint: a restored state equals the saved one in every field and steps on identically") {
  for (const bool network : {false, true}) {
    CAPTURE(network);
    const Model m = rich_model(network);
    State st = run_steps(m, 23);  // past the entry at 20, fines and breaches under way
    const auto dir = temp_dir("ckpt-state");
    RunPosition pos;
    pos.summary = "header\nrow\n";
    pos.output_bytes = {1, 2, 3, 4};
    pos.rows.resize(23);
    for (std::size_t i = 0; i < pos.rows.size(); ++i) pos.rows[i].fill(static_cast<double>(i) + 0.25);
    pos.start_time = "2026-12-01T00:00:00Z";
    pos.wall_seconds = 1.5;
    const std::string hash = scenario_hash(m.scenario);
    write_checkpoint(dir / "c.bin", m, hash, pos, st);

    State restored;
    RunPosition back;
    read_checkpoint(dir / "c.bin", m, hash, back, restored);
    CHECK(first_state_difference(st, restored) == "");
    CHECK(state_digest(restored) == state_digest(st));
    CHECK(back.summary == pos.summary);
    CHECK(back.output_bytes == pos.output_bytes);
    CHECK(back.rows == pos.rows);
    CHECK(back.start_time == pos.start_time);
    CHECK(back.wall_seconds == pos.wall_seconds);
    // a state that differs is told apart, by field
    State other = st;
    other.firms.dominant_steps.back() += 1;
    CHECK(first_state_difference(st, other) == "firms.dominant_steps");
    for (int t = 0; t < 8; ++t) {
      step(m, st);
      step(m, restored);
      CAPTURE(t);
      REQUIRE(state_digest(restored) == state_digest(st));
      REQUIRE(first_state_difference(st, restored) == "");
    }
  }
}

TEST_CASE("checkpoint: a resumed run writes files byte-identical to an uninterrupted one") {
  struct Case {
    bool network;
    int threads_first, threads_resume;
    std::int64_t replications, stop_rep, stop_step;
  };
  const Case cases[] = {{false, 1, 2, 1, 1, 17}, {true, 2, 1, 1, 1, 17}, {false, 2, 2, 2, 2, 5},
                        {true, 1, 1, 2, 1, 40}, {false, 1, 2, 1, 1, 60}};
  for (const auto& c : cases) {
    CAPTURE(c.network);
    CAPTURE(c.threads_first);
    CAPTURE(c.replications);
    CAPTURE(c.stop_step);
    const auto dir = temp_dir("resume");
    auto ref = run_options(dir, kRich, "reference");
    if (c.network) ref.overrides.push_back({"network.kind", "watts_strogatz"});
    ref.replications = c.replications;
    ref.threads = 2;
    run_scenario(ref);

    auto o = ref;
    o.out = (dir / "resumed").string();
    o.threads = c.threads_first;
    o.checkpoint_every = 7;
    run_until_stopped(o, c.stop_rep, c.stop_step);
    const fs::path out = o.out;
    const auto manifest_dir = c.replications > 1 ? out / fmt::format("rep-{:03d}", c.stop_rep) : out;
    const auto manifest = nlohmann::json::parse(read_text(manifest_dir / "manifest.json"));
    CHECK(manifest["status"] == "interrupted");
    CHECK(manifest["checkpoint"] == (out / kCheckpointName).string());
    CHECK(fs::exists(manifest_dir / ".metrics.csv.part"));
    CHECK(!fs::exists(manifest_dir / "metrics.csv"));
    CHECK(!fs::exists(out / "summary.csv"));

    auto resume = o;
    resume.out.clear();
    resume.threads = c.threads_resume;
    resume.resume = (out / kCheckpointName).string();
    CHECK(run_scenario(resume) == out);
    check_same_csvs(ref.out, out);
    CHECK(nlohmann::json::parse(read_text(manifest_dir / "manifest.json"))["status"] == "complete");
    CHECK(!fs::exists(out / kCheckpointName));  // a complete run has nothing to resume
    for (const auto& e : fs::recursive_directory_iterator(out)) CHECK(e.path().extension() != ".part");
  }
}

TEST_CASE("checkpoint: after a crash the last periodic checkpoint resumes the run byte-identically") {
  const auto dir = temp_dir("crash");
  auto ref = run_options(dir, kRich, "reference");
  run_scenario(ref);
  // A crash at step 13 leaves the checkpoint of step 10 and .part files that run past it: the
  // run directory as it was then is copied aside, and resumed there.
  auto o = ref;
  o.out = (dir / "run").string();
  o.checkpoint_every = 5;
  const fs::path crashed = dir / "crashed";
  o.after_step = [&](std::int64_t, std::int64_t done) {
    if (done == 13) fs::copy(o.out, crashed, fs::copy_options::recursive);
  };
  run_scenario(o);
  REQUIRE(fs::exists(crashed / kCheckpointName));
  REQUIRE(fs::file_size(crashed / ".services.csv.part") > 0);
  auto resume = ref;
  resume.out.clear();
  resume.resume = (crashed / kCheckpointName).string();
  run_scenario(resume);
  check_same_csvs(ref.out, crashed);
}

TEST_CASE("checkpoint: a checkpoint of another scenario, engine version or format, or a damaged one, is refused") {
  const auto dir = temp_dir("refuse-ckpt");
  auto o = run_options(dir, kRich, "run");
  run_until_stopped(o, 1, 12);
  const fs::path ckpt = fs::path(o.out) / kCheckpointName;
  const std::string good = read_text(ckpt);
  auto resume = o;
  resume.out.clear();
  resume.resume = ckpt.string();
  const auto refused = [&](const RunOptions& r, const std::string& expected) {
    CAPTURE(expected);
    try {
      run_scenario(r);
      FAIL("resumed");
    } catch (const InputError& e) {
      CAPTURE(e.what());
      CHECK(std::string(e.what()).find(expected) != std::string::npos);
    }
  };
  SUBCASE("another scenario: a --set that changes the resolved scenario") {
    auto other = resume;
    other.overrides.push_back({"jv.access_fee", "0.06"});
    refused(other, "belongs to another scenario");
    auto seed = resume;
    seed.seed = 8;
    refused(seed, "belongs to another scenario");
  }
  SUBCASE("another engine version") {
    // layout: magic (8 bytes), format (4), version length (4), version text
    REQUIRE(good.substr(16, std::strlen(kVersion)) == kVersion);
    patch_byte(ckpt, 16, good[16] == '9' ? '8' : '9');
    refused(resume, "was written by policysim");
  }
  SUBCASE("another format") {
    patch_byte(ckpt, 8, static_cast<char>(good[8] + 1));
    refused(resume, "checkpoint format");
  }
  SUBCASE("not a checkpoint") {
    write_text(ckpt, "[scenario]\nname = \"x\"\n");
    refused(resume, "not a policysim checkpoint");
  }
  SUBCASE("truncated") {
    write_text(ckpt, good.substr(0, good.size() / 2));
    refused(resume, "damaged checkpoint");
  }
  SUBCASE("a damaged index") {
    // the last choice code of the last consumer: past the end of the choice array's bytes,
    // found by its field name
    const auto at = good.find("consumers.previous");
    REQUIRE(at != std::string::npos);
    patch_byte(ckpt, at - 4 - 1, static_cast<char>(200));  // 4: the name's length prefix
    refused(resume, "damaged checkpoint");
  }
  SUBCASE("the .part files it resumes are missing") {
    fs::remove(fs::path(o.out) / ".firms.csv.part");
    refused(resume, "partial output file is missing");
  }
  SUBCASE("another output directory") {
    auto elsewhere = resume;
    elsewhere.out = (dir / "elsewhere").string();
    refused(elsewhere, "writes where its checkpoint is");
  }
  SUBCASE("the same run resumes") {
    run_scenario(resume);
    CHECK(fs::exists(fs::path(o.out) / "metrics.csv"));
  }
}

TEST_CASE("cli: --checkpoint-every and --resume continue a run through the command line") {
  const auto dir = temp_dir("cli-ckpt");
  write_text(dir / "rich.toml", kRich);
  const std::string scen = (dir / "rich.toml").string();
  std::string log;
  REQUIRE(run_cli(fmt::format("run {} --out {} --quiet", scen, (dir / "ref").string()), &log) == 0);
  CHECK(run_cli(fmt::format("run {} --out {} --checkpoint-every 0", scen, (dir / "x").string()), &log) == 2);
  CHECK(log.find("--checkpoint-every: must be >= 1") != std::string::npos);
  CHECK(run_cli(fmt::format("run {} --resume {}", scen, (dir / "none.bin").string()), &log) == 2);
  CHECK(log.find("cannot read the checkpoint") != std::string::npos);
}
