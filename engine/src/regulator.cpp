#include "regulator.hpp"

#include <algorithm>
#include <numeric>

namespace policysim {

void antitrust(const Model& m, const Phase& ph, State& st) {
  const auto& at = ph.params.regulator.antitrust;
  auto& fm = st.firms;
  std::fill(fm.fines.begin(), fm.fines.end(), 0.0);
  st.totals.fines = 0;
  if (!at.enabled) return;
  for (int f = 0; f < m.firms; ++f) {
    if (!fm.active[f]) continue;
    double top = 0;  // the firm's largest share of a sector's users
    for (int s = 0; s < m.sectors; ++s) {
      double share = 0;
      for (int k : m.firm_services[f])
        if (m.service_sector[k] == s) share += st.services.sector_share[k];
      top = std::max(top, share);
    }
    fm.dominant_steps[f] = top > at.share_threshold ? fm.dominant_steps[f] + 1 : 0;
    const bool cooling = fm.last_fine_step[f] >= 0 && st.step - fm.last_fine_step[f] < at.cooldown;
    if (fm.dominant_steps[f] < at.persistence || cooling) continue;
    const auto& h = fm.revenue_history[f];
    fm.fines[f] = at.fine_rate * std::accumulate(h.begin(), h.end(), 0.0);
    fm.remedy[f] = 1;
    fm.last_fine_step[f] = st.step;
    ++st.totals.fines;
  }
}

void breaches(const Model& m, const Phase& ph, State& st) {
  const auto& p = ph.params;
  const double base = p.regulator.breach.base_rate;
  const auto step = static_cast<std::uint32_t>(st.step);
  st.totals.breaches = 0;
  for (int f = 0; f < m.firms; ++f) {
    double held = 0;
    for (int k : m.firm_services[f]) held += st.services.data[k];
    const double pr = base * held / (1.0 + held);
    st.firms.breached[f] = st.firms.active[f] &&
                           draw(st.key, Stream::kBreach, step, static_cast<std::uint32_t>(f), 0)[0] < threshold(pr);
    st.totals.breaches += st.firms.breached[f];
  }
  const double pool = st.jv.data;
  const double pr = base * pool / (1.0 + pool) * (1.0 - p.jv.anonymization);
  st.jv.breached = p.jv.enabled &&
                   draw(st.key, Stream::kBreach, step, static_cast<std::uint32_t>(m.firms), 0)[0] < threshold(pr);
  st.totals.breaches += st.jv.breached;
}

}  // namespace policysim
