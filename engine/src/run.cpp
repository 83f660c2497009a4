#include "policysim/run.hpp"

#include <chrono>
#include <csignal>
#include <ctime>
#include <unistd.h>

#include <fmt/format.h>
#include <omp.h>

#include "checkpoint.hpp"
#include "memory.hpp"
#include "policysim/errors.hpp"
#include "policysim/interrupt.hpp"
#include "policysim/metrics.hpp"
#include "policysim/simulation.hpp"
#include "policysim/version.hpp"

namespace policysim {
namespace {

// Progress on stderr, only when it is a terminal.
class Progress {
 public:
  explicit Progress(bool quiet) : on_(!quiet && isatty(STDERR_FILENO)) {}
  void show(std::int64_t rep, std::int64_t reps, std::int64_t step, std::int64_t steps) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (step + 1 < steps && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    fmt::print(stderr, "\rreplication {}/{}  step {}/{}", rep, reps, step + 1, steps);
    if (step + 1 == steps && rep == reps) fmt::print(stderr, "\n");
  }
  void end_line() {
    if (on_) fmt::print(stderr, "\n");
  }

 private:
  bool on_;
  std::chrono::steady_clock::time_point last_{};
};

// The current UTC time in a strftime format.
std::string utc_now(const char* format) {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

// A word for a POSIX shell: as it is when it is safe, else in single quotes.
std::string shell_word(const std::string& s) {
  const bool safe = !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                      "0123456789_-+=./,:@%") == std::string::npos;
  if (safe) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The command line that continues a run from `checkpoint`: the same scenario and flags.
std::string resume_command(const RunOptions& o, const fs::path& checkpoint) {
  std::string cmd = "policysim run " + shell_word(o.scenario_path);
  for (const auto& ov : o.overrides) cmd += " --set " + shell_word(ov.path + "=" + ov.value);
  if (o.seed) cmd += fmt::format(" --seed {}", *o.seed);
  if (o.steps) cmd += fmt::format(" --steps {}", *o.steps);
  if (o.replications) cmd += fmt::format(" --replications {}", *o.replications);
  if (o.threads > 0) cmd += fmt::format(" --threads {}", o.threads);
  if (o.checkpoint_every > 0) cmd += fmt::format(" --checkpoint-every {}", o.checkpoint_every);
  if (o.quiet) cmd += " --quiet";
  return cmd + " --resume " + shell_word(checkpoint.string());
}

const char* signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a stop request"; }

// What every replication of one run shares.
struct RunContext {
  const RunOptions& options;
  const Model& model;
  std::string scenario_sha;    // of the file, for the manifest
  std::string resolved_hash;   // of the resolved scenario, for checkpoints
  nlohmann::json resolved;
  fs::path out;
  int threads = 0;
  Progress progress;
  std::string summary;         // summary.csv so far
  fs::path checkpoint;         // where checkpoints are written
  fs::path valid_checkpoint;   // a checkpoint that resumes the replication in progress, if any
};

nlohmann::json manifest(const RunContext& ctx, std::int64_t r, const std::string& started, double wall,
                        const char* status) {
  const auto& sc = ctx.model.scenario.scenario;
  return {{"engine", "policysim"}, {"version", kVersion}, {"git_commit", kGitCommit},
          {"scenario_path", ctx.options.scenario_path}, {"scenario_sha256", ctx.scenario_sha},
          {"scenario", ctx.resolved}, {"seed", sc.seed}, {"replication", r}, {"steps", ctx.model.steps},
          {"threads", ctx.threads}, {"ranks", 1}, {"wall_seconds", wall}, {"start_time", started},
          {"end_time", utc_timestamp()}, {"status", status}};
}

// One replication from its start, or from the checkpoint `resume`; returns its summary cells.
std::vector<double> run_replication(RunContext& ctx, std::int64_t r, const fs::path* resume) {
  const RunOptions& o = ctx.options;
  const Model& model = ctx.model;
  const auto reps = model.scenario.scenario.replications;
  const fs::path dir = reps > 1 ? ctx.out / fmt::format("rep-{:03d}", r) : ctx.out;
  State state;
  RunPosition pos;
  std::unique_ptr<RunWriter> writer;
  RunSummary run_summary;
  if (resume) {
    read_checkpoint(*resume, model, ctx.resolved_hash, pos, state);
    writer = std::make_unique<RunWriter>(dir, pos.output_bytes);
    for (const auto& row : pos.rows) run_summary.add(model, state, row);
    ctx.valid_checkpoint = *resume;
  } else {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw IoError(fmt::format("{}: cannot create the directory: {}", dir.string(), ec.message()));
    pos.replication = r;
    pos.summary = ctx.summary;
    pos.start_time = utc_timestamp();
    writer = std::make_unique<RunWriter>(dir, model);
    // a checkpoint of the replication before cannot resume this one
    if (ctx.valid_checkpoint == ctx.checkpoint) fs::remove(ctx.checkpoint, ec);
    ctx.valid_checkpoint.clear();
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto wall = [&] {
    return pos.wall_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const auto save_checkpoint = [&] {
    pos.output_bytes = writer->sync();
    RunPosition at = pos;
    at.wall_seconds = wall();
    write_checkpoint(ctx.checkpoint, model, ctx.resolved_hash, at, state);
    ctx.valid_checkpoint = ctx.checkpoint;
  };
  try {
    if (!resume) {
      state = initial_state(model, static_cast<std::uint32_t>(r));
      // a crash in this replication's first steps resumes here, not in the one before
      if (o.checkpoint_every > 0 && r > 1) save_checkpoint();
    }
    while (state.step < model.steps) {
      step(model, state);
      const MetricsRow row = metrics_row(model, state);
      writer->write_step(model, state, row);
      run_summary.add(model, state, row);
      pos.rows.push_back(row);
      ctx.progress.show(r, reps, state.step - 1, model.steps);
      if (o.after_step) o.after_step(r, state.step);
      const bool stop = stop_requested();
      if (stop || (o.checkpoint_every > 0 && state.step % o.checkpoint_every == 0 && state.step < model.steps))
        save_checkpoint();
      if (stop) {
        writer->keep_partial();
        auto m = manifest(ctx, r, pos.start_time, wall(), "interrupted");
        m["checkpoint"] = ctx.checkpoint.string();
        m["steps_done"] = state.step;
        write_file_atomic(dir / "manifest.json", m.dump(2) + "\n");
        ctx.progress.end_line();
        throw RunInterrupted(stop_signal(), ctx.checkpoint, r, state.step, resume_command(o, ctx.checkpoint));
      }
    }
  } catch (const NumericalError& e) {
    // What the run has: the rows of the steps before the failing one, and why it stopped.
    ctx.progress.end_line();
    writer->commit();
    auto m = manifest(ctx, r, pos.start_time, wall(), "failed");
    m["error"] = e.what();
    write_file_atomic(dir / "manifest.json", m.dump(2) + "\n");
    std::error_code ec;
    fs::remove(ctx.checkpoint, ec);  // resuming would only meet the same NaN again
    throw;
  } catch (const IoError& e) {
    ctx.progress.end_line();
    if (ctx.valid_checkpoint.empty()) throw;
    writer->keep_partial();
    throw IoError(fmt::format("{}\nthe checkpoint {} and the .part files it resumes are kept; once the problem is "
                              "fixed, resume with:\n  {}",
                              e.what(), ctx.valid_checkpoint.string(), resume_command(o, ctx.valid_checkpoint)));
  }
  writer->commit();
  write_file_atomic(dir / "manifest.json", manifest(ctx, r, pos.start_time, wall(), "complete").dump(2) + "\n");
  if (reps > 1 && ctx.summary.empty()) {
    std::vector<std::string> cols{"replication", "seed"};
    for (auto& c : run_summary.columns(model)) cols.push_back(c);
    ctx.summary = csv_line(cols);
  }
  return run_summary.values();
}

bool same_directory(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec) || fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

}  // namespace

RunInterrupted::RunInterrupted(int signal_, fs::path checkpoint_, std::int64_t replication_, std::int64_t steps_done_,
                               std::string resume_command_)
    : std::runtime_error(fmt::format("interrupted by {} at the end of step {} (replication {}); checkpoint {}",
                                     signal_name(signal_), steps_done_ - 1, replication_, checkpoint_.string())),
      signal(signal_), checkpoint(std::move(checkpoint_)), replication(replication_), steps_done(steps_done_),
      resume_command(std::move(resume_command_)) {}

std::string utc_timestamp() { return utc_now("%Y-%m-%dT%H:%M:%SZ"); }

Scenario load_for_run(const RunOptions& o) {
  std::vector<Override> overrides = o.overrides;
  if (o.seed) overrides.push_back({"scenario.seed", std::to_string(*o.seed)});
  if (o.steps) overrides.push_back({"scenario.steps", std::to_string(*o.steps)});
  if (o.replications) overrides.push_back({"scenario.replications", std::to_string(*o.replications)});
  return load_scenario(o.scenario_path, overrides);
}

fs::path run_scenario(const RunOptions& o) {
  if (o.checkpoint_every < 0) throw InputError("--checkpoint-every: must be >= 1");
  const Scenario scenario = load_for_run(o);
  const Model model = build_model(scenario);
  if (!o.quiet)
    for (const auto& note : model.skipped_policy_notes) fmt::print(stderr, "{}\n", note);
  const std::string resolved_hash = scenario_hash(scenario);
  fs::path out;
  RunPosition resume_at;
  if (!o.resume.empty()) {
    // Header and position first: a checkpoint of another run is refused before anything else.
    resume_at = read_checkpoint_position(o.resume, model, resolved_hash);
    out = fs::path(o.resume).parent_path();
    if (out.empty()) out = ".";
    if (!o.out.empty() && !same_directory(o.out, out))
      throw InputError(fmt::format("--out {}: a resumed run writes where its checkpoint is ({}); leave out --out",
                                   o.out, out.string()));
  } else {
    out = o.out.empty() ? fs::path("runs") / fmt::format("{}-{}", scenario.scenario.name, utc_now("%Y%m%d-%H%M%S"))
                        : fs::path(o.out);
    if (non_empty_dir(out) && !o.force)
      throw InputError(
          fmt::format("{}: the output directory is not empty (use --force to write into it)", out.string()));
  }
  check_memory(model, available_memory_bytes(), o.force);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw IoError(fmt::format("{}: cannot create the output directory: {}", out.string(), ec.message()));
  if (o.threads > 0) omp_set_num_threads(o.threads);

  RunContext ctx{o, model, sha256_file(o.scenario_path), resolved_hash, scenario_json(scenario), out,
                 o.threads > 0 ? o.threads : omp_get_max_threads(), Progress(o.quiet), "", out / kCheckpointName,
                 {}};
  const auto reps = scenario.scenario.replications;
  std::int64_t first = 1;
  if (!o.resume.empty()) {
    first = resume_at.replication;
    ctx.summary = resume_at.summary;
  }
  for (std::int64_t r = first; r <= reps; ++r) {
    const fs::path resume_path = o.resume;
    const auto values = run_replication(ctx, r, r == first && !o.resume.empty() ? &resume_path : nullptr);
    if (reps > 1) {
      std::vector<std::string> cells{std::to_string(r), std::to_string(scenario.scenario.seed)};
      for (double x : values) cells.push_back(csv_number(x));
      ctx.summary += csv_line(cells);
    }
  }
  if (reps > 1) write_file_atomic(out / "summary.csv", ctx.summary);
  fs::remove(ctx.checkpoint, ec);  // the run is complete: nothing left to resume
  return out;
}

}  // namespace policysim
