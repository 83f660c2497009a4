#include "policysim/metrics.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "policysim/errors.hpp"

namespace policysim {

MetricsRow metrics_row(const Model& m, const State& st) {
  const auto& p = m.phase(st.step - 1).params;
  const double n = m.consumers;
  const auto& sv = st.services;
  double total_data = 0, quality = 0, innovation = 0;
  int active = 0;
  for (int k = 0; k < m.services; ++k) {
    total_data += sv.data[k];
    if (sv.active[k]) quality += sv.quality[k], ++active;
  }
  for (int f = 0; f < m.firms; ++f)
    if (st.firms.active[f]) innovation += st.firms.innovation[f];
  const double pooled = total_data + st.jv.data;
  const double control = p.jv.enabled && pooled > 0 ? p.jv.regulator_control * st.jv.data / pooled : 0.0;
  return {static_cast<double>(st.step - 1), n, st.totals.cs / n, st.totals.trust / n, st.totals.consent / n,
          st.totals.harm / n, total_data, st.jv.data, control, static_cast<double>(st.totals.breaches),
          static_cast<double>(st.totals.fines), static_cast<double>(st.totals.entries),
          static_cast<double>(st.totals.exits), active ? quality / active : 0.0, innovation};
}

SectorRow sector_row(const Model& m, const State& st, int s) {
  SectorRow row;
  const auto& sv = st.services;
  double price_weighted = 0, price_plain = 0;
  for (int k : m.sector_services[s]) {
    row.users += sv.users[k];
    row.hhi += 10000.0 * sv.sector_share[k] * sv.sector_share[k];
    row.top_share = std::max(row.top_share, sv.sector_share[k]);
    if (!sv.active[k]) continue;
    row.active_services += 1;
    price_weighted += sv.price[k] * sv.users[k];
    price_plain += sv.price[k];
  }
  // user-weighted mean price; the plain mean while the sector has no users
  row.mean_price = row.users > 0 ? price_weighted / row.users
                                 : (row.active_services > 0 ? price_plain / row.active_services : 0.0);
  row.mean_cs = st.totals.sector_cs[s] / m.consumers;
  return row;
}

void RunSummary::add(const Model& m, const State& st, const MetricsRow& row) {
  last_ = row;
  for (std::size_t j = 0; j < row.size(); ++j) sum_[j] += row[j];
  ++steps_;
  final_hhi_.resize(static_cast<std::size_t>(m.sectors));
  for (int s = 0; s < m.sectors; ++s) final_hhi_[s] = sector_row(m, st, s).hhi;
}

std::vector<std::string> RunSummary::columns(const Model& m) const {
  std::vector<std::string> cols;
  for (std::size_t j = 1; j < kMetricColumns.size(); ++j) cols.push_back(fmt::format("final_{}", kMetricColumns[j]));
  for (std::size_t j = 1; j < kMetricColumns.size(); ++j) cols.push_back(fmt::format("mean_{}", kMetricColumns[j]));
  for (const auto& sec : m.scenario.sectors) cols.push_back(fmt::format("final_hhi_{}", sec.name));
  return cols;
}

std::vector<double> RunSummary::values() const {
  POLICYSIM_CHECK(steps_ > 0);
  std::vector<double> v;
  for (std::size_t j = 1; j < last_.size(); ++j) v.push_back(last_[j]);
  for (std::size_t j = 1; j < sum_.size(); ++j) v.push_back(sum_[j] / static_cast<double>(steps_));
  v.insert(v.end(), final_hhi_.begin(), final_hhi_.end());
  return v;
}

}  // namespace policysim
