#include "policysim/model.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace policysim {
namespace {

// Per-firm JV shares and mandate scope under one phase's parameters.
void derive_phase(Phase& ph) {
  const auto& s = ph.params;
  ph.shareholding.assign(s.firms.size(), 0.0);
  ph.participant.assign(s.firms.size(), 0);
  for (std::size_t f = 0; f < s.firms.size(); ++f) {
    for (const auto& [name, share] : s.jv.members.shares)
      if (name == s.firms[f].name) ph.shareholding[f] = share;
    const bool member = std::any_of(s.jv.members.shares.begin(), s.jv.members.shares.end(),
                                    [&](const auto& m) { return m.first == s.firms[f].name; });
    ph.participant[f] = s.regulator.mandate_scope == MandateScope::kAll || member;
  }
}

}  // namespace

const Phase& Model::phase(std::int64_t step) const {
  std::size_t i = 0;
  while (i + 1 < phases.size() && phases[i + 1].start <= step) ++i;
  return phases[i];
}

Model build_model(const Scenario& scenario) {
  Model m;
  m.scenario = scenario;
  m.consumers = static_cast<std::uint32_t>(scenario.consumers.count);
  m.steps = scenario.scenario.steps;
  m.sectors = static_cast<int>(scenario.sectors.size());
  m.firms = static_cast<int>(scenario.firms.size());
  m.sector_services.resize(m.sectors);
  m.firm_services.resize(m.firms);
  std::map<std::string, int> sector_index;
  for (int s = 0; s < m.sectors; ++s) sector_index[scenario.sectors[s].name] = s;
  for (int f = 0; f < m.firms; ++f) {
    for (const auto& svc : scenario.firms[f].services) {
      const int k = m.services++;
      const int s = sector_index.at(svc.sector);
      m.service_sector.push_back(s);
      m.service_firm.push_back(f);
      m.sector_services[s].push_back(k);
      m.service_option.push_back(static_cast<int>(m.sector_services[s].size()));
      m.service_local.push_back(static_cast<int>(m.firm_services[f].size()));
      m.firm_services[f].push_back(k);
    }
  }
  m.option_offset.assign(m.sectors + 1, 0);
  for (int s = 0; s < m.sectors; ++s)
    m.option_offset[s + 1] = m.option_offset[s] + static_cast<int>(m.sector_services[s].size()) + 1;
  m.options = m.option_offset[m.sectors];

  // Phases: the base parameters, then each distinct event step with its events applied in
  // file order on top of the phase before.
  Phase base;
  base.params = scenario;
  derive_phase(base);
  m.phases.push_back(base);
  std::vector<const PolicyEvent*> events;
  for (const auto& ev : scenario.policies) {
    if (ev.at >= m.steps) {
      m.skipped_policy_notes.push_back(
          fmt::format("note: [[policy]] at = {} is past the run's {} steps and is skipped", ev.at, m.steps));
      continue;
    }
    events.push_back(&ev);
  }
  std::stable_sort(events.begin(), events.end(), [](auto* a, auto* b) { return a->at < b->at; });
  for (const auto* ev : events) {
    if (m.phases.back().start != ev->at) {
      Phase next = m.phases.back();
      next.start = ev->at;
      m.phases.push_back(std::move(next));
    }
    Phase& ph = m.phases.back();
    for (const auto& [path, value] : ev->set) assign_path(ph.params, path.str(), value, value.source(), true);
    check_scenario(ph.params);
    derive_phase(ph);
  }
  return m;
}

}  // namespace policysim
