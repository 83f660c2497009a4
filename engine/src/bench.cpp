#include "policysim/bench.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <omp.h>

#include "policysim/errors.hpp"
#include "policysim/metrics.hpp"
#include "policysim/model.hpp"
#include "policysim/output.hpp"
#include "policysim/simulation.hpp"

namespace policysim {
namespace {

template <class T, class A>
double bytes(const std::vector<T, A>& v) {
  return static_cast<double>(v.capacity() * sizeof(T));
}

double state_bytes(const State& st) {
  const auto& c = st.consumers;
  return bytes(c.privacy) + bytes(c.activity) + bytes(c.trust) + bytes(c.consent) + bytes(c.choice) +
         bytes(c.previous) + bytes(st.network.offsets) + bytes(st.network.neighbours) + bytes(st.partials) +
         bytes(st.peer_words);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::uint64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      std::uint64_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
    in.ignore(4096, '\n');
  }
  return 0;
}

Scenario bench_scenario(const BenchOptions& o) {
  const std::int64_t steps = o.steps * (o.speedup ? 2 : 1) + 1;  // with the warm-up step
  std::string toml = fmt::format(R"(
[scenario]
name = "bench"
steps = {}
[consumers]
count = {}
peer_weight = {}
[network]
kind = "{}"
degree = {}
[jv]
enabled = true
members = {{ F0 = 0.1, F1 = 0.1, F2 = 0.1, F3 = 0.1 }}
[regulator]
consent = "opt_in"
sharing_mandate = 0.5
[regulator.breach]
base_rate = 0.01
)", steps, o.consumers, o.network == "none" ? 0.0 : 0.5, o.network, o.degree);
  for (const char* sector : {"ecommerce", "payments", "delivery"}) toml += fmt::format("[[sector]]\nname = \"{}\"\n", sector);
  for (int f = 0; f < 4; ++f) {
    toml += fmt::format("[[firm]]\nname = \"F{}\"\n", f);
    for (const char* sector : {"ecommerce", "payments", "delivery"})
      toml += fmt::format("  [[firm.service]]\n  name = \"{}{}\"\n  sector = \"{}\"\n  base_quality = {}\n  initial_share = 0.2\n",
                          sector, f, sector, 1.0 + 0.2 * f);
  }
  return parse_scenario(toml, "bench");
}

BenchResult run_bench(const BenchOptions& o) {
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const Model model = build_model(bench_scenario(o));
  BenchResult r;
  r.consumers = model.consumers;
  r.sectors = model.sectors;
  r.services = model.services;
  r.threads = omp_get_max_threads();
  r.steps = o.steps;
  const auto t0 = std::chrono::steady_clock::now();
  State st = initial_state(model, 1);
  r.setup_seconds = seconds_since(t0);
  step(model, st);  // warm-up: first touch of scratch, caches
  StageTimes times;
  std::vector<double> per_step;
  std::unique_ptr<RunWriter> writer;
  if (!o.output.empty()) {
    fs::create_directories(o.output);
    writer = std::make_unique<RunWriter>(o.output, model);
  }
  // One step on `threads`, its wall seconds; the rows it writes are in the time, as with a
  // run's output on, and their part goes to `writing`. The paired single-thread steps are not
  // in the stage times.
  std::vector<double> writing;
  const auto timed = [&](int threads, StageTimes* stage_times) {
    omp_set_num_threads(threads);
    const auto t1 = std::chrono::steady_clock::now();
    step(model, st, stage_times);
    if (writer) {
      const auto t2 = std::chrono::steady_clock::now();
      writer->write_step(model, st, metrics_row(model, st));
      if (stage_times) writing.push_back(seconds_since(t2));
    }
    return seconds_since(t1);
  };
  std::vector<double> one_thread, ratios;
  for (std::int64_t t = 0; t < o.steps; ++t) {
    if (o.speedup && t % 2 == 0) one_thread.push_back(timed(1, nullptr));
    per_step.push_back(timed(r.threads, &times));
    if (o.speedup && t % 2 == 1) one_thread.push_back(timed(1, nullptr));
    if (o.speedup) ratios.push_back(one_thread.back() / per_step.back());
  }
  if (writer) {
    writer->commit();
    std::vector<double> with_over_without;
    for (std::size_t i = 0; i < per_step.size(); ++i) with_over_without.push_back(per_step[i] / (per_step[i] - writing[i]));
    r.output_seconds = median(writing);
    r.output_ratio = median(with_over_without);
  }
  r.step_seconds = median(per_step);
  if (o.speedup) {
    r.one_thread_step_seconds = median(one_thread);
    r.speedup = median(ratios);
  }
  const double decisions = static_cast<double>(model.consumers) * model.sectors;
  r.ns_per_decision = r.step_seconds / decisions * 1e9;
  r.decisions_per_second = decisions / r.step_seconds;
  r.state_bytes_per_consumer = state_bytes(st) / model.consumers;
  r.peak_rss_bytes_per_consumer = static_cast<double>(peak_rss_bytes()) / model.consumers;
  r.stage_names = stage_names();
  for (double s : times.seconds) r.stage_seconds.push_back(s / static_cast<double>(o.steps));
  return r;
}

std::string format_bench(const BenchResult& r) {
  std::string out = fmt::format(
      "consumers {}\nsectors {}\nservices {}\nthreads {}\nsteps {}\nsetup_seconds {:.4f}\nstep_seconds {:.6f}\n"
      "ns_per_decision {:.3f}\ndecisions_per_second {:.4g}\nstate_bytes_per_consumer {:.2f}\n"
      "peak_rss_bytes_per_consumer {:.2f}\n",
      r.consumers, r.sectors, r.services, r.threads, r.steps, r.setup_seconds, r.step_seconds, r.ns_per_decision,
      r.decisions_per_second, r.state_bytes_per_consumer, r.peak_rss_bytes_per_consumer);
  if (r.output_ratio > 0)
    out += fmt::format("output_seconds {:.6f}\noutput_ratio {:.4f}\n", r.output_seconds, r.output_ratio);
  if (r.speedup > 0)
    out += fmt::format("one_thread_step_seconds {:.6f}\nspeedup {:.3f}\n", r.one_thread_step_seconds, r.speedup);
  for (std::size_t i = 0; i < r.stage_names.size(); ++i)
    out += fmt::format("stage_seconds.{} {:.6f}\n", r.stage_names[i], r.stage_seconds[i]);
  return out;
}

}  // namespace policysim
