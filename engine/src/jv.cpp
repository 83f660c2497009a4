#include "jv.hpp"

#include <algorithm>

namespace policysim {

double jv_access(const Phase& ph, int f) {
  const auto& jv = ph.params.jv;
  if (!jv.enabled) return 0.0;
  switch (jv.access) {
    case Access::kNone: return 0.0;
    case Access::kMembers: return ph.shareholding[f] > 0 ? 1.0 : 0.0;
    case Access::kAll:
    case Access::kLicensed: return 1.0;
  }
  return 0.0;
}

void update_jv_pool(const Model& m, const Phase& ph, State& st) {
  const auto& jv = ph.params.jv;
  auto& sv = st.services;
  auto& fm = st.firms;
  std::fill(fm.jv_contribution.begin(), fm.jv_contribution.end(), 0.0);
  double contributed = 0;
  for (int k = 0; k < m.services; ++k) {
    const int f = m.service_firm[k];
    sv.contribution[k] = jv.enabled ? fm.contribution_rate[f] * sv.consented_flow[k] : 0.0;
    fm.jv_contribution[f] += sv.contribution[k];
    contributed += sv.contribution[k];
  }
  st.jv.inflow = (1.0 - jv.anonymization) * contributed;
  st.jv.data = (1.0 - jv.depreciation) * st.jv.data + st.jv.inflow;
}

void settle_jv_fees(const Model& m, const Phase& ph, State& st) {
  const auto& jv = ph.params.jv;
  auto& fm = st.firms;
  st.jv.revenue = 0;
  for (int f = 0; f < m.firms; ++f) {
    fm.fees[f] = jv.enabled && jv.access == Access::kLicensed && fm.active[f] ? jv.access_fee * st.jv.data : 0.0;
    st.jv.revenue += fm.fees[f];
  }
  double paid = 0;
  for (int f = 0; f < m.firms; ++f) paid += fm.dividends[f] = ph.shareholding[f] * st.jv.revenue;
  st.jv.state_income = st.jv.revenue - paid;
}

void update_contribution_rates(const Model& m, const Phase& ph, State& st) {
  const auto& p = ph.params;
  auto& fm = st.firms;
  // Each firm's share of its sectors' users, averaged over the sectors it serves, and the mean
  // of the same over the active rivals in those sectors.
  std::vector<double> own(m.firms, 0.0), rival(m.firms, 0.0);
  std::vector<int> served(m.firms, 0);
  for (int s = 0; s < m.sectors; ++s) {
    std::vector<double> firm_share(m.firms, 0.0);
    std::vector<std::uint8_t> present(m.firms, 0);
    for (int k : m.sector_services[s]) {
      if (!st.services.active[k]) continue;
      firm_share[m.service_firm[k]] += st.services.sector_share[k];
      present[m.service_firm[k]] = 1;
    }
    int count = 0;
    double total = 0;
    for (int f = 0; f < m.firms; ++f)
      if (present[f]) ++count, total += firm_share[f];
    for (int f = 0; f < m.firms; ++f) {
      if (!present[f]) continue;
      own[f] += firm_share[f];
      rival[f] += count > 1 ? (total - firm_share[f]) / (count - 1) : 0.0;
      ++served[f];
    }
  }
  for (int f = 0; f < m.firms; ++f) {
    double rate = 0;
    if (p.jv.enabled && ph.participant[f]) {
      if (p.jv.participation == Participation::kMandatory) {
        rate = p.regulator.sharing_mandate;
      } else if (served[f] > 0) {
        rate = std::clamp(p.jv.voluntary_base + p.jv.voluntary_slope * (rival[f] - own[f]) / served[f], 0.0, 1.0);
      }
    }
    if (p.jv.enabled && fm.remedy[f]) rate = std::max(rate, p.regulator.antitrust.remedy_mandate);
    fm.contribution_rate[f] = rate;
  }
}

}  // namespace policysim
