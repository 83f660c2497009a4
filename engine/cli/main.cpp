// The `policysim` command line (MODEL.md section 6).
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "policysim/bench.hpp"
#include "policysim/errors.hpp"
#include "policysim/interrupt.hpp"
#include "policysim/run.hpp"
#include "policysim/scenario.hpp"
#include "policysim/version.hpp"

namespace po = boost::program_options;
using namespace policysim;

namespace {

constexpr const char* kUsage = R"(usage:
  policysim run SCENARIO.toml [--out DIR] [--set PATH=VALUE]... [--seed S]
                [--steps T] [--replications R] [--threads N] [--force] [--quiet]
                [--checkpoint-every K] [--resume CHECKPOINT]
  policysim validate SCENARIO.toml
  policysim bench [--consumers N] [--steps T] [--threads N] [--network KIND]
                  [--degree D] [--output DIR] [--speedup]
  policysim --version
)";

std::vector<Override> parse_overrides(const std::vector<std::string>& items) {
  std::vector<Override> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError(fmt::format("--set {}: expected PATH=VALUE, e.g. --set regulator.consent=opt_in", item));
    out.push_back({item.substr(0, eq), item.substr(eq + 1)});
  }
  return out;
}

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& desc,
                        const char* positional) {
  po::positional_options_description pos;
  pos.add(positional, 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

int cmd_run(const std::vector<std::string>& args) {
  RunOptions o;
  std::vector<std::string> sets;
  po::options_description desc("run options");
  desc.add_options()
      ("scenario", po::value(&o.scenario_path)->required(), "scenario file")
      ("out", po::value(&o.out), "output directory (default runs/<name>-<timestamp>/)")
      ("set", po::value(&sets)->composing(), "override PATH=VALUE (repeatable)")
      ("seed", po::value<std::int64_t>(), "random seed")
      ("steps", po::value<std::int64_t>(), "number of steps")
      ("replications", po::value<std::int64_t>(), "number of replications")
      ("threads", po::value(&o.threads), "worker threads (default: all cores)")
      ("force", po::bool_switch(&o.force), "write into a non-empty output directory; skip the memory check")
      ("quiet", po::bool_switch(&o.quiet), "no progress or notes on stderr")
      ("checkpoint-every", po::value(&o.checkpoint_every), "write a checkpoint every K steps")
      ("resume", po::value(&o.resume), "continue the run from a checkpoint");
  const auto vm = parse(args, desc, "scenario");
  if (vm.count("seed")) o.seed = vm["seed"].as<std::int64_t>();
  if (vm.count("steps")) o.steps = vm["steps"].as<std::int64_t>();
  if (vm.count("replications")) o.replications = vm["replications"].as<std::int64_t>();
  if (o.threads < 0) throw InputError("--threads: must be >= 1");
  if (vm.count("checkpoint-every") && o.checkpoint_every < 1) throw InputError("--checkpoint-every: must be >= 1");
  o.overrides = parse_overrides(sets);
  // SIGINT and SIGTERM stop the run at the end of the step, with a checkpoint to resume from.
  const StopHandlers handlers;
  try {
    const auto dir = run_scenario(o);
    if (!o.quiet) fmt::print(stderr, "wrote {}\n", dir.string());
    return 0;
  } catch (const RunInterrupted& e) {
    fmt::print(stderr,
               "policysim: {}\nthe files of the finished steps wait as .part files next to it; resume with:\n  {}\n",
               e.what(), e.resume_command);
    return e.exit_code();
  }
}

int cmd_validate(const std::vector<std::string>& args) {
  std::string path;
  po::options_description desc("validate options");
  desc.add_options()("scenario", po::value(&path)->required(), "scenario file");
  parse(args, desc, "scenario");
  std::cout << to_toml_text(load_scenario(path));
  return 0;
}

int cmd_bench(const std::vector<std::string>& args) {
  BenchOptions o;
  std::int64_t consumers = o.consumers;
  po::options_description desc("bench options");
  desc.add_options()
      ("consumers", po::value(&consumers)->default_value(consumers), "consumers")
      ("steps", po::value(&o.steps)->default_value(o.steps), "timed steps (after one warm-up step)")
      ("threads", po::value(&o.threads), "worker threads (default: all cores)")
      ("network", po::value(&o.network)->default_value(o.network), "none | watts_strogatz | barabasi_albert")
      ("degree", po::value(&o.degree)->default_value(o.degree), "network degree")
      ("output", po::value(&o.output), "also write the CSV outputs of the timed steps to this directory")
      ("speedup", po::bool_switch(&o.speedup),
       "pair each timed step with one on a single thread and print the median ratio (speedup)");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (consumers < 1 || consumers > 4294967295LL) throw InputError("--consumers: must be in [1, 4294967295]");
  if (o.steps < 1) throw InputError("--steps: must be >= 1");
  o.consumers = static_cast<std::uint32_t>(consumers);
  fmt::print("{}", format_bench(run_bench(o)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> all(argv + 1, argv + argc);
  if (all.empty() || all[0] == "--help" || all[0] == "-h") {
    std::cout << kUsage;
    return all.empty() ? 2 : 0;
  }
  if (all[0] == "--version") {
    fmt::print("policysim {} (commit {})\n", kVersion, kGitCommit);
    return 0;
  }
  const std::string command = all[0];
  const std::vector<std::string> args(all.begin() + 1, all.end());
  try {
    if (command == "run") return cmd_run(args);
    if (command == "validate") return cmd_validate(args);
    if (command == "bench") return cmd_bench(args);
    fmt::print(stderr, "policysim: unknown command '{}'\n{}", command, kUsage);
    return 2;
  } catch (const InputError& e) {
    fmt::print(stderr, "policysim: error: {}\n", e.what());
    return 2;
  } catch (const po::error& e) {
    fmt::print(stderr, "policysim {}: {}\n{}", command, e.what(), kUsage);
    return 2;
  } catch (const IoError& e) {
    fmt::print(stderr, "policysim: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "policysim: error: {}\n", e.what());
    return 1;
  }
}
