// What a step is measured by (MODEL.md section 7): the metrics.csv row, the per-sector rows,
// and a run's summary (final and mean of every metric) used by summary.csv and sweeps.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "policysim/model.hpp"
#include "policysim/state.hpp"

namespace policysim {

inline constexpr std::array<std::string_view, 15> kMetricColumns = {
    "step", "consumers", "mean_cs", "mean_trust", "consent_rate", "privacy_harm", "total_data", "jv_data",
    "control_index", "breaches", "fines", "entries", "exits", "mean_quality", "innovation_capital"};
using MetricsRow = std::array<double, kMetricColumns.size()>;

// The metrics of the step just run (state.step - 1).
MetricsRow metrics_row(const Model& model, const State& state);

struct SectorRow {
  double users = 0, hhi = 0, top_share = 0, active_services = 0, mean_price = 0, mean_cs = 0;
};
SectorRow sector_row(const Model& model, const State& state, int sector);

// Final and mean of every metric but `step`, and the final HHI of each sector.
class RunSummary {
 public:
  void add(const Model& model, const State& state, const MetricsRow& row);
  std::vector<std::string> columns(const Model& model) const;
  std::vector<double> values() const;

 private:
  MetricsRow last_{}, sum_{};
  std::vector<double> final_hhi_;
  long steps_ = 0;
};

}  // namespace policysim
