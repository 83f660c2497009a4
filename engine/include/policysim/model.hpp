// The immutable model: the validated scenario, its policy timeline resolved into phases, and
// the index structure (which service belongs to which sector and firm) that every stage uses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policysim/scenario.hpp"

namespace policysim {

// The parameters in force from step `start` until the next phase begins.
struct Phase {
  std::int64_t start = 0;
  Scenario params;
  std::vector<double> shareholding;  // [firms] JV shareholding of each firm (0 for non-members)
  std::vector<std::uint8_t> participant;  // [firms] 1 if the firm is in the JV's mandate scope
};

struct Model {
  Scenario scenario;            // as loaded, overrides applied
  std::vector<Phase> phases;    // phases[0].start == 0, starts increasing
  std::uint32_t consumers = 0;  // N
  std::int64_t steps = 0;
  int sectors = 0, services = 0, firms = 0;
  std::vector<int> service_sector;                // [services]
  std::vector<int> service_firm;                  // [services]
  std::vector<int> service_option;                // [services] choice code (1..K_s) in its sector
  std::vector<int> service_local;                 // [services] index in its firm's services
  std::vector<std::vector<int>> sector_services;  // [sectors][K_s] services in file order
  std::vector<std::vector<int>> firm_services;    // [firms][...]
  std::vector<int> option_offset;  // [sectors+1] first flat option of each sector (outside first)
  int options = 0;                 // sum over sectors of K_s + 1
  std::vector<std::string> skipped_policy_notes;  // events past the run's end

  // The phase in force at `step`.
  const Phase& phase(std::int64_t step) const;
  // Service k's parameters (and its sector's, its firm's) under one phase's parameters.
  const Service& service(const Scenario& p, int k) const {
    return p.firms[service_firm[k]].services[service_local[k]];
  }
  const Sector& sector_of(const Scenario& p, int k) const { return p.sectors[service_sector[k]]; }
  const Firm& firm_of(const Scenario& p, int k) const { return p.firms[service_firm[k]]; }
};

// Builds the model; events at or past `scenario.scenario.steps` are dropped with a note.
Model build_model(const Scenario& scenario);

}  // namespace policysim
