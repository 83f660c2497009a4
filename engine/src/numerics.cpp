#include "numerics.hpp"

#include <cfloat>
#include <cmath>
#include <span>

#include <fmt/format.h>

#include "jv.hpp"
#include "policysim/simulation.hpp"

namespace policysim {
namespace {

// What an element of a checked array belongs to.
enum class Owner { kService, kFirm, kFirmWindow, kOption, kOptionRisk, kJv, kTotals, kSector };

// Every checked array, in the order they are searched. A new serial array of State that holds
// a real number belongs here (the consumer arrays are the consumer pass's to count).
template <class F>
void for_each_checked(const State& st, F&& f) {
  const auto& sv = st.services;
  f("services.price", Owner::kService, std::span<const double>(sv.price), "");
  f("services.quality", Owner::kService, std::span<const double>(sv.quality), "");
  f("services.data", Owner::kService, std::span<const double>(sv.data), " (the data stock D_k)");
  f("services.users", Owner::kService, std::span<const double>(sv.users), "");
  f("services.share", Owner::kService, std::span<const double>(sv.share), "");
  f("services.sector_share", Owner::kService, std::span<const double>(sv.sector_share), "");
  f("services.data_flow", Owner::kService, std::span<const double>(sv.data_flow), "");
  f("services.consented_flow", Owner::kService, std::span<const double>(sv.consented_flow), "");
  f("services.ported", Owner::kService, std::span<const double>(sv.ported), "");
  f("services.contribution", Owner::kService, std::span<const double>(sv.contribution), "");
  f("services.revenue", Owner::kService, std::span<const double>(sv.revenue), "");
  const auto& fm = st.firms;
  f("firms.innovation", Owner::kFirm, std::span<const double>(fm.innovation), " (innovation capital R_f)");
  f("firms.contribution_rate", Owner::kFirm, std::span<const double>(fm.contribution_rate), "");
  f("firms.revenue", Owner::kFirm, std::span<const double>(fm.revenue), "");
  f("firms.profit", Owner::kFirm, std::span<const double>(fm.profit), "");
  f("firms.fines", Owner::kFirm, std::span<const double>(fm.fines), "");
  f("firms.dividends", Owner::kFirm, std::span<const double>(fm.dividends), "");
  f("firms.fees", Owner::kFirm, std::span<const double>(fm.fees), "");
  f("firms.compliance", Owner::kFirm, std::span<const double>(fm.compliance), "");
  f("firms.jv_contribution", Owner::kFirm, std::span<const double>(fm.jv_contribution), "");
  f("firms.revenue_history", Owner::kFirmWindow,
    std::span<const double>(fm.revenue_history.empty() ? nullptr : fm.revenue_history.front().data(),
                            fm.revenue_history.size() * Firms::kRevenueWindow),
    "");
  f("jv.data", Owner::kJv, std::span<const double>(&st.jv.data, 1), " (the pooled data D_JV)");
  f("jv.inflow", Owner::kJv, std::span<const double>(&st.jv.inflow, 1), "");
  f("jv.revenue", Owner::kJv, std::span<const double>(&st.jv.revenue, 1), "");
  f("jv.state_income", Owner::kJv, std::span<const double>(&st.jv.state_income, 1), "");
  f("totals.cs", Owner::kTotals, std::span<const double>(&st.totals.cs, 1), "");
  f("totals.trust", Owner::kTotals, std::span<const double>(&st.totals.trust, 1), "");
  f("totals.consent", Owner::kTotals, std::span<const double>(&st.totals.consent, 1), "");
  f("totals.harm", Owner::kTotals, std::span<const double>(&st.totals.harm, 1), "");
  f("totals.sector_cs", Owner::kSector, std::span<const double>(st.totals.sector_cs), "");
  const auto& opt = st.options;
  f("options.base", Owner::kOption, std::span<const float>(opt.base),
    " (the option's utility quality_weight*quality - price_sensitivity*price, or outside_utility, in single "
    "precision)");
  f("options.risk", Owner::kOptionRisk, std::span<const float>(opt.risk),
    " (the option's privacy risk rho, in single precision)");
  f("options.data_per_activity", Owner::kOption, std::span<const float>(opt.data_per_activity), "");
  f("options.port_per_activity", Owner::kOption, std::span<const float>(opt.port_per_activity), "");
}

std::string option_name(const Model& m, std::size_t o) {
  int s = 0;
  while (s + 1 < m.sectors && static_cast<std::size_t>(m.option_offset[s + 1]) <= o) ++s;
  const auto j = static_cast<int>(o) - m.option_offset[s];
  const auto& sc = m.scenario;
  if (j == 0) return fmt::format("outside option of sector '{}'", sc.sectors[s].name);
  const int k = m.sector_services[s][j - 1];
  return fmt::format("service '{}' (firm '{}', sector '{}')", m.service(sc, k).name, m.firm_of(sc, k).name,
                     sc.sectors[s].name);
}

std::string owner_name(const Model& m, Owner owner, std::size_t i) {
  const auto& sc = m.scenario;
  switch (owner) {
    case Owner::kService: {
      const auto k = static_cast<int>(i);
      return fmt::format("service '{}' (firm '{}', sector '{}')", m.service(sc, k).name, m.firm_of(sc, k).name,
                         m.sector_of(sc, k).name);
    }
    case Owner::kFirm: return fmt::format("firm '{}'", sc.firms[i].name);
    case Owner::kFirmWindow:
      return fmt::format("firm '{}' (revenue window slot {})", sc.firms[i / Firms::kRevenueWindow].name,
                         i % Firms::kRevenueWindow);
    case Owner::kOption: return option_name(m, i);
    case Owner::kOptionRisk: return fmt::format("{} (consent = {})", option_name(m, i / 2), i % 2);
    case Owner::kJv: return "jv";
    case Owner::kTotals: return "the sums over consumers";
    case Owner::kSector: return fmt::format("sector '{}'", sc.sectors[i].name);
  }
  return "?";
}

// x - x is 0 for finite x and NaN for NaN and Inf: one branch-free sum per array.
template <class T>
bool all_finite(std::span<const T> xs) {
  T acc = 0;
  for (const T x : xs) acc += x - x;
  return acc == 0;
}

// The first consumer whose utilities, from the inputs the consumer pass read (attributes,
// consent and the option table), fall outside the single-precision range, in consumer order;
// -1 if none does. Recomputed in double, serially, only after the pass counted a problem.
struct Culprit {
  std::int64_t consumer = -1;
  std::size_t option = 0;
  double utility = 0;
};
Culprit first_nonfinite_consumer(const Model& m, const Phase& ph, const State& st) {
  const auto& c = st.consumers;
  const auto& opt = st.options;
  const double peer = st.network.empty() ? 0.0 : std::abs(ph.params.consumers.peer_weight);
  for (std::uint32_t i = 0; i < m.consumers; ++i) {
    const double theta = c.privacy[i], consent = c.consent[i];
    for (std::size_t o = 0; o < opt.base.size(); ++o) {
      if (!opt.open[o]) continue;
      const double risk = static_cast<double>(opt.risk[2 * o]) +
                          consent * (static_cast<double>(opt.risk[2 * o + 1]) - static_cast<double>(opt.risk[2 * o]));
      const double v = static_cast<double>(opt.base[o]) - theta * risk;
      if (!(std::abs(v) + peer <= FLT_MAX)) return {i, o, v};
    }
  }
  return {};
}

// Constants of the consumer pass that it takes from the phase in single precision.
void check_pass_constants(const Model& m, const Phase& ph, const State& st, std::string_view stage) {
  const auto& p = ph.params;
  const struct {
    const char* name;
    double value;
  } constants[] = {
      {"exp(consumers.switching_cost)", std::exp(p.consumers.switching_cost)},
      {"1/consumers.price_sensitivity", 1.0 / static_cast<float>(p.consumers.price_sensitivity)},
      {"consumers.peer_weight", p.consumers.peer_weight},
      {"consent.trust_weight", p.consent.trust_weight},
      {"consent.benefit + consent.default_bias", p.consent.benefit + p.consent.default_bias},
      {"jv risk rho_JV", p.jv.enabled ? jv_risk(p.jv) : 0.0},
  };
  (void)m;
  for (const auto& k : constants)
    if (!(std::abs(k.value) <= FLT_MAX))
      throw NumericalError(st.step, std::string(stage), "the consumer pass", k.name, k.value,
                           " (outside the single-precision range the consumer pass computes in)");
}

// The consumer behind a non-finite consumer sum, as a message tail.
std::string consumer_detail(const Model& m, const Phase& ph, const State& st, const Culprit& culprit) {
  const std::string count =
      st.totals.nonfinite > 0 ? fmt::format("{} consumer-sector surpluses were not finite; ", st.totals.nonfinite) : "";
  if (culprit.consumer < 0) return fmt::format(" ({}no single consumer's utilities overflow)", count);
  (void)ph;
  return fmt::format(" ({}the first consumer involved is {}: its utility of the {} is {}, with privacy sensitivity {})",
                     count, culprit.consumer, option_name(m, culprit.option), culprit.utility,
                     st.consumers.privacy[static_cast<std::size_t>(culprit.consumer)]);
}

}  // namespace

void check_finite(const Model& m, const Phase& ph, const State& st, std::string_view stage) {
  bool ok = st.totals.nonfinite == 0;
  for_each_checked(st, [&](const char*, Owner, auto xs, const char*) { ok = ok && all_finite(xs); });
  if (stage == "options") check_pass_constants(m, ph, st, stage);
  if (ok) return;
  // The consumer pass's own count first: its sums (totals, sector surplus) follow from it.
  if (st.totals.nonfinite > 0) {
    const Culprit culprit = first_nonfinite_consumer(m, ph, st);
    throw NumericalError(st.step, std::string(stage),
                         culprit.consumer >= 0 ? fmt::format("consumer {}", culprit.consumer) : "consumers",
                         "consumer surplus (logsum)", NAN, consumer_detail(m, ph, st, culprit));
  }
  for_each_checked(st, [&](const char* name, Owner owner, auto xs, const char* what) {
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (std::isfinite(xs[i])) continue;
      const bool consumer_sum = owner == Owner::kTotals || owner == Owner::kSector;
      const Culprit culprit = consumer_sum ? first_nonfinite_consumer(m, ph, st) : Culprit{};
      throw NumericalError(st.step, std::string(stage),
                           culprit.consumer >= 0 ? fmt::format("consumer {} (in {})", culprit.consumer,
                                                               owner_name(m, owner, i))
                                                 : owner_name(m, owner, i),
                           name, static_cast<double>(xs[i]),
                           consumer_sum ? std::string(what) + consumer_detail(m, ph, st, culprit) : std::string(what));
    }
  });
}

}  // namespace policysim
