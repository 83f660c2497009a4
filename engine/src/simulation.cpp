#include "policysim/simulation.hpp"

#include <chrono>

#include <fmt/format.h>

#include "consumers.hpp"
#include "jv.hpp"
#include "market.hpp"
#include "network.hpp"
#include "numerics.hpp"
#include "population.hpp"
#include "regulator.hpp"

namespace policysim {
namespace {

// Sizes the per-entity arrays and sets their step-0 values.
void init_market(const Model& m, State& st) {
  const auto& p = m.scenario;
  const auto ns = static_cast<std::size_t>(m.services), nf = static_cast<std::size_t>(m.firms);
  auto& sv = st.services;
  for (auto* v : {&sv.price, &sv.quality, &sv.data, &sv.users, &sv.share, &sv.sector_share, &sv.data_flow,
                  &sv.consented_flow, &sv.ported, &sv.contribution, &sv.revenue})
    v->assign(ns, 0.0);
  sv.active.assign(ns, 0);
  sv.low_share_steps.assign(ns, 0);
  auto& fm = st.firms;
  for (auto* v : {&fm.innovation, &fm.contribution_rate, &fm.revenue, &fm.profit, &fm.fines, &fm.dividends,
                  &fm.fees, &fm.compliance, &fm.jv_contribution})
    v->assign(nf, 0.0);
  fm.active.assign(nf, 0);
  fm.remedy.assign(nf, 0);
  fm.breached.assign(nf, 0);
  fm.dominant_steps.assign(nf, 0);
  fm.last_fine_step.assign(nf, -1);
  fm.revenue_history.assign(nf, {});
  for (int k = 0; k < m.services; ++k) {
    const auto& svc = m.service(p, k);
    sv.price[k] = svc.price;
    sv.data[k] = svc.initial_data;
    sv.active[k] = m.firm_of(p, k).enter_at == 0;
  }
  for (int f = 0; f < m.firms; ++f) {
    fm.innovation[f] = p.firms[f].initial_innovation;
    fm.active[f] = p.firms[f].enter_at == 0;
  }
  // initial users from the drawn choices (integer counts: order does not matter), counted in
  // parallel
  const std::uint8_t* const choice = st.consumers.choice.data();
  const int* const offset = m.option_offset.data();
  const int sectors = m.sectors, options = m.options;
  const auto consumers = static_cast<std::int64_t>(m.consumers);
  std::vector<std::int64_t> count(static_cast<std::size_t>(options), 0);
  std::int64_t* const counts = count.data();
#pragma omp parallel for schedule(static) reduction(+ : counts[:options])
  for (std::int64_t i = 0; i < consumers; ++i)
    for (int s = 0; s < sectors; ++s) ++counts[offset[s] + choice[i * sectors + s]];
  for (int k = 0; k < m.services; ++k)
    sv.users[k] = static_cast<double>(count[m.option_offset[m.service_sector[k]] + m.service_option[k]]);
}

// Stage 1: a phase that starts this step has just changed the rules; rates and quality that
// depend on them are re-derived so consumers face the new rules from this step on.
void apply_policy(const Model& m, const Phase& ph, State& st) {
  if (ph.start != st.step || st.step == 0) return;
  update_contribution_rates(m, ph, st);
  update_quality(m, ph, st);
}

}  // namespace

NumericalError::NumericalError(std::int64_t step_, std::string stage_, std::string entity_, std::string variable_,
                               double value_, const std::string& detail)
    : std::runtime_error(fmt::format("numerical error at step {}, stage '{}': {}: {} = {}{}", step_, stage_, entity_,
                                     variable_, value_, detail)),
      step(step_), stage(std::move(stage_)), entity(std::move(entity_)), variable(std::move(variable_)),
      value(value_) {}

State initial_state(const Model& m, std::uint32_t replication) {
  State st;
  st.key = RngKey{static_cast<std::uint64_t>(m.scenario.scenario.seed), replication};
  init_population(m, st);
  st.network = build_network(m.scenario.network, m.consumers, st.key);
  init_market(m, st);
  const Phase& ph = m.phase(0);
  update_shares(m, st);
  update_quality(m, ph, st);
  update_contribution_rates(m, ph, st);
  st.totals.sector_cs.assign(static_cast<std::size_t>(m.sectors), 0.0);
  check_finite(m, ph, st, "initial");
  return st;
}



namespace {

using StageFn = void (*)(const Model&, const Phase&, State&);
struct StageDef {
  const char* name;
  StageFn run;
};

// The step, in order (MODEL.md section 3; docs/model.md says where the order differs).
constexpr StageDef kStages[] = {
    {"policy", apply_policy},                      // 1. events of this step take effect
    {"entry", [](const Model& m, const Phase&, State& st) { enter_firms(m, st); }},  // 3i
    {"options", prepare_options},                  //    per-step constants of the pass
    {"consumers", consumer_pass},                  // 2. trust, consent, choice, surplus, data
    {"shares", [](const Model& m, const Phase&, State& st) { update_shares(m, st); }},  // 3a
    {"data", update_data},                         // 3b. firm data stocks
    {"jv_pool", update_jv_pool},                   // 3b. contributions and the pool
    {"quality", update_quality},                   // 3c-d
    {"revenue", settle_revenue},                   // 3f. at the prices paid this step
    {"antitrust", antitrust},                      // 4a. fines land in this step's profit
    {"fees", settle_jv_fees},                      // 3f. access fees and dividends
    {"profit", settle_profit},                     // 3f
    {"prices", update_prices},                     // 3e. for the next step
    {"innovation", update_innovation},             // 3g
    {"contribution", update_contribution_rates},   // 3h
    {"exit", update_exits},                        // 3i
    {"breaches", breaches},                        // 4b
};

}  // namespace

std::vector<std::string> stage_names() {
  std::vector<std::string> names;
  for (const auto& s : kStages) names.emplace_back(s.name);
  return names;
}

void run_stage(const Model& m, State& st, std::size_t stage) {
  kStages[stage].run(m, m.phase(st.step), st);
}

void step(const Model& m, State& st, StageTimes* times) {
  const Phase& ph = m.phase(st.step);
  if (times) times->seconds.resize(std::size(kStages), 0.0);
  for (std::size_t i = 0; i < std::size(kStages); ++i) {
    const auto t0 = times ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    kStages[i].run(m, ph, st);
    if (times) times->seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    check_finite(m, ph, st, kStages[i].name);
  }
  ++st.step;
}

}  // namespace policysim
