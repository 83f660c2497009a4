#include "market.hpp"

#include <algorithm>
#include <cmath>

#include "jv.hpp"

namespace policysim {

double data_returns(const Sector& sec, double x) {
  switch (sec.data_returns) {
    case DataReturns::kLog: return std::log1p(x);
    case DataReturns::kSaturating: return x / (1.0 + x);
    case DataReturns::kPower: return std::pow(x, sec.data_exponent);
  }
  return 0.0;
}

void enter_firms(const Model& m, State& st) {
  st.totals.entries = 0;
  for (int f = 0; f < m.firms; ++f) {
    if (m.scenario.firms[f].enter_at != st.step || st.step == 0) continue;
    st.firms.active[f] = 1;
    for (int k : m.firm_services[f]) st.services.active[k] = 1;
    ++st.totals.entries;
  }
}

void update_shares(const Model& m, State& st) {
  auto& sv = st.services;
  const double n = m.consumers;
  for (int s = 0; s < m.sectors; ++s) {
    double users = 0;
    for (int k : m.sector_services[s]) users += sv.users[k];
    for (int k : m.sector_services[s]) {
      sv.share[k] = sv.users[k] / n;
      sv.sector_share[k] = users > 0 ? sv.users[k] / users : 0.0;
    }
  }
}

void update_data(const Model& m, const Phase& ph, State& st) {
  auto& sv = st.services;
  for (int k = 0; k < m.services; ++k)
    sv.data[k] = (1.0 - m.sector_of(ph.params, k).depreciation) * sv.data[k] + sv.data_flow[k] + sv.ported[k];
}

void update_quality(const Model& m, const Phase& ph, State& st) {
  const auto& p = ph.params;
  auto& sv = st.services;
  const double spill = p.regulator.siloing ? 0.0 : p.market.cross_sector_spillover;
  for (int k = 0; k < m.services; ++k) {
    const int f = m.service_firm[k];
    double own_other = 0;  // data of the firm's services in other sectors
    for (int j : m.firm_services[f])
      if (j != k && m.service_sector[j] != m.service_sector[k]) own_other += sv.data[j];
    const double effective = sv.data[k] + spill * own_other + jv_access(ph, f) * st.jv.data;
    const auto& sec = m.sector_of(p, k);
    sv.quality[k] = m.service(p, k).base_quality + sec.data_weight * data_returns(sec, effective / sec.data_scale) +
                    sec.innovation_weight * std::log1p(st.firms.innovation[f]);
  }
}

void settle_revenue(const Model& m, const Phase& ph, State& st) {
  auto& sv = st.services;
  auto& fm = st.firms;
  std::fill(fm.revenue.begin(), fm.revenue.end(), 0.0);
  for (int k = 0; k < m.services; ++k) {
    const int f = m.service_firm[k];
    sv.revenue[k] = 0;
    if (!sv.active[k]) continue;
    const auto& svc = m.service(ph.params, k);
    sv.revenue[k] = (sv.price[k] - svc.marginal_cost) * sv.share[k] + svc.ad_rate * sv.data_flow[k];
    fm.revenue[f] += sv.revenue[k];
  }
  for (int f = 0; f < m.firms; ++f)
    fm.revenue_history[f][static_cast<std::size_t>(st.step % Firms::kRevenueWindow)] = fm.revenue[f];
}

void settle_profit(const Model& m, const Phase& ph, State& st) {
  const auto& p = ph.params;
  auto& fm = st.firms;
  const double compliance = p.regulator.consent == ConsentRegime::kNone ? 0.0 : p.regulator.compliance_cost;
  for (int f = 0; f < m.firms; ++f) {
    if (!fm.active[f]) {
      fm.compliance[f] = fm.profit[f] = 0;
      continue;
    }
    fm.compliance[f] = compliance * fm.revenue[f];
    fm.profit[f] = fm.revenue[f] - fm.compliance[f] - fm.fines[f] - fm.fees[f] + fm.dividends[f] -
                   p.firms[f].fixed_cost;
  }
}

void update_prices(const Model& m, const Phase& ph, State& st) {
  const auto& p = ph.params;
  auto& sv = st.services;
  const double alpha = p.consumers.price_sensitivity;
  for (int k = 0; k < m.services; ++k) {
    const auto& firm = m.firm_of(p, k);
    if (firm.pricing != Pricing::kBestResponse || !sv.active[k]) continue;
    // S_fs: the firm's share of all consumers in this sector, outside option included
    double firm_share = 0;
    for (int j : m.firm_services[m.service_firm[k]])
      if (m.service_sector[j] == m.service_sector[k]) firm_share += sv.share[j];
    firm_share = std::min(firm_share, 1.0 - 1e-9);
    const double cost = m.service(p, k).marginal_cost;
    const double target = cost + 1.0 / (alpha * (1.0 - firm_share));
    sv.price[k] = std::max(cost, sv.price[k] + firm.price_adjustment * (target - sv.price[k]));
  }
}

void update_innovation(const Model& m, const Phase& ph, State& st) {
  const auto& p = ph.params;
  auto& fm = st.firms;
  for (int f = 0; f < m.firms; ++f) {
    const double invest = p.firms[f].innovation_rate * (1.0 - p.market.appropriability_loss * fm.contribution_rate[f]) *
                          std::max(fm.profit[f], 0.0);
    fm.innovation[f] = (1.0 - p.market.innovation_depreciation) * fm.innovation[f] + (fm.active[f] ? invest : 0.0);
  }
}

void update_exits(const Model& m, const Phase& ph, State& st) {
  const auto& p = ph.params;
  auto& sv = st.services;
  st.totals.exits = 0;
  for (int k = 0; k < m.services; ++k) {
    if (!sv.active[k]) continue;
    sv.low_share_steps[k] = sv.sector_share[k] < p.market.exit_share ? sv.low_share_steps[k] + 1 : 0;
    if (sv.low_share_steps[k] >= p.market.exit_persistence) {
      sv.active[k] = 0;
      ++st.totals.exits;
    }
  }
  for (int f = 0; f < m.firms; ++f) {
    if (!st.firms.active[f]) continue;
    const auto& ks = m.firm_services[f];
    st.firms.active[f] = std::any_of(ks.begin(), ks.end(), [&](int k) { return sv.active[k] != 0; });
  }
}

}  // namespace policysim
