// Micro-benchmarks: each stage of the step on the `policysim bench` market, population and
// network generation. Each is a named scene; Google Benchmark repeats it and reports medians
// with --benchmark_repetitions=5 --benchmark_report_aggregates_only=true.
#include <algorithm>
#include <map>

#include <benchmark/benchmark.h>

#include "network.hpp"
#include "policysim/bench.hpp"
#include "policysim/model.hpp"
#include "policysim/simulation.hpp"
#include "population.hpp"

namespace policysim {
namespace {

constexpr std::uint32_t kConsumers = 200000;

const Model& bench_model(const std::string& network) {
  static std::map<std::string, Model> models;
  auto it = models.find(network);
  if (it == models.end()) {
    BenchOptions o;
    o.consumers = kConsumers;
    o.network = network;
    it = models.emplace(network, build_model(bench_scenario(o))).first;
  }
  return it->second;
}

// One stage of the step, repeated on a state that has run one full warm-up step.
void BM_stage(benchmark::State& bs, std::size_t stage, const std::string& network) {
  const Model& m = bench_model(network);
  State st = initial_state(m, 1);
  step(m, st);
  for (auto _ : bs) {
    run_stage(m, st, stage);
    benchmark::ClobberMemory();
  }
  if (stage_names()[stage] == "consumers")
    bs.counters["decisions/s"] = benchmark::Counter(static_cast<double>(m.consumers) * m.sectors,
                                                    benchmark::Counter::kIsIterationInvariantRate);
}

void BM_step(benchmark::State& bs, const std::string& network) {
  const Model& m = bench_model(network);
  State st = initial_state(m, 1);
  step(m, st);
  for (auto _ : bs) {
    if (st.step >= m.steps) st.step = 1;  // keep within the scenario's policy timeline
    step(m, st);
  }
  bs.counters["decisions/s"] = benchmark::Counter(static_cast<double>(m.consumers) * m.sectors,
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

void BM_population(benchmark::State& bs) {
  const Model& m = bench_model("none");
  for (auto _ : bs) {
    State st;
    st.key = RngKey{1, 1};
    init_population(m, st);
    benchmark::DoNotOptimize(st.consumers.privacy.data());
  }
  bs.counters["consumers/s"] = benchmark::Counter(kConsumers, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_network(benchmark::State& bs, NetworkKind kind) {
  NetworkParams p;
  p.kind = kind;
  for (auto _ : bs) {
    const Network g = build_network(p, kConsumers, RngKey{1, 1});
    benchmark::DoNotOptimize(g.neighbours.data());
  }
  bs.counters["consumers/s"] = benchmark::Counter(kConsumers, benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  const auto names = stage_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    benchmark::RegisterBenchmark(("stage/" + names[i]).c_str(), BM_stage, i, std::string("none"))
        ->Unit(benchmark::kMicrosecond);
  }
  const auto consumers = static_cast<std::size_t>(std::find(names.begin(), names.end(), "consumers") - names.begin());
  benchmark::RegisterBenchmark("stage/consumers/watts_strogatz", BM_stage, consumers, std::string("watts_strogatz"))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("step/none", BM_step, std::string("none"))->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("step/watts_strogatz", BM_step, std::string("watts_strogatz"))->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("setup/population", BM_population)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("setup/network/watts_strogatz", BM_network, NetworkKind::kWattsStrogatz)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("setup/network/barabasi_albert", BM_network, NetworkKind::kBarabasiAlbert)
      ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
}  // namespace policysim

BENCHMARK_MAIN();
