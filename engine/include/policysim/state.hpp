// The mutable state of one replication: consumers (structure of arrays), the social network,
// services, firms, the JV, the regulator's record, and per-step scratch. Everything a later
// step reads lives here, so a checkpoint of State is a checkpoint of the run. A field added
// here must be added to the checkpoint's field list too (for_each_state_field in
// engine/src/checkpoint.cpp); the test "checkpoint: the field list covers every field of State"
// fails until it is.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <boost/align/aligned_allocator.hpp>
#include <boost/core/noinit_adaptor.hpp>

#include "policysim/model.hpp"
#include "policysim/rng.hpp"

namespace policysim {

// An array that starts on a cache line, so that no vector access of the consumer pass is split
// across two.
template <class T>
using AlignedVector = std::vector<T, boost::alignment::aligned_allocator<T, 64>>;

// An AlignedVector whose resize leaves new elements uninitialised, for the per-consumer arrays:
// they are written in full where they are made (population.cpp, in parallel, so that their
// pages are first touched by the threads that fill them; `previous` in consumers.cpp) or read
// (checkpoint.cpp).
template <class T>
using ConsumerArray = std::vector<T, boost::noinit_adaptor<boost::alignment::aligned_allocator<T, 64>>>;

// Consumers as one array per attribute. Hot arrays (read every step by every consumer) are
// narrow: 4-byte floats and 1-byte codes, so a consumer costs 13 + sectors bytes, and with a
// network also its peers' snapshot (State::peer_words, 8 bytes, or `previous`, sectors bytes).
struct Consumers {
  ConsumerArray<float> privacy;          // [N] theta_i, privacy sensitivity
  ConsumerArray<float> activity;         // [N] a_i, data generated per use
  ConsumerArray<float> trust;            // [N] tau_i in [0, 1]
  ConsumerArray<std::uint8_t> consent;   // [N] c_i in {0, 1}
  ConsumerArray<std::uint8_t> choice;    // [N * sectors] choice code per sector: 0 = outside,
                                         // j = j-th service of the sector (Model::sector_services)
  ConsumerArray<std::uint8_t> previous;  // [N * sectors] last step's codes, so that peers read a
                                         // stable snapshot while choices change: only with a
                                         // network where State::peer_words do not apply, made
                                         // by the first consumer pass (empty otherwise)
};

// Undirected graph in compressed sparse rows: neighbours of i are
// neighbours[offsets[i] .. offsets[i+1]), sorted, without self loops or duplicates.
struct Network {
  std::vector<std::uint64_t> offsets;    // [N + 1]
  std::vector<std::uint32_t> neighbours; // [2 * edges]
  std::uint64_t max_degree = 0;          // the largest row
  bool empty() const { return offsets.empty(); }
};

// One vector per service attribute; indices are Model service indices.
struct Services {
  std::vector<double> price, quality, data;   // p_k, q_k, D_k (per capita)
  std::vector<double> users;                  // consumers on k this step
  std::vector<double> share, sector_share;    // users/N, users/users of the sector
  std::vector<double> data_flow;              // data generated this step / N
  std::vector<double> consented_flow;         // data of consenting users this step / N
  std::vector<double> ported;                 // data brought by switchers this step / N
  std::vector<double> contribution;           // X_k, sent to the JV this step (before anonymisation)
  std::vector<double> revenue;                // this step, per capita
  std::vector<std::uint8_t> active;           // 1 while the service is in the market
  std::vector<std::int64_t> low_share_steps;  // consecutive steps below exit_share
};

struct Firms {
  static constexpr int kRevenueWindow = 12;  // antitrust fines are on the last 12 steps' revenue
  std::vector<double> innovation;            // R_f
  std::vector<double> contribution_rate;     // m_f
  std::vector<double> revenue, profit, fines, dividends, fees, compliance;  // this step
  std::vector<double> jv_contribution;       // sum of X_k over the firm's services this step
  std::vector<std::uint8_t> active;          // entered and not every service exited
  std::vector<std::uint8_t> remedy;          // 1 once an antitrust remedy was imposed
  std::vector<std::uint8_t> breached;        // breached this step (exposes users next step)
  std::vector<std::int64_t> dominant_steps;  // consecutive steps above share_threshold
  std::vector<std::int64_t> last_fine_step;  // -1 if never fined
  std::vector<std::array<double, kRevenueWindow>> revenue_history;  // ring buffer by step
};

struct Jv {
  double data = 0;          // D_JV, per capita
  double inflow = 0;        // (1 - anonymisation) * sum X_k this step
  double revenue = 0;       // access fees this step
  double state_income = 0;  // revenue kept by the state (state_share and unallocated)
  bool breached = false;    // breached this step
};

// The step's aggregates that metrics read (beyond the per-entity arrays).
struct StepTotals {
  double cs = 0, trust = 0, consent = 0, harm = 0;  // sums over consumers
  std::vector<double> sector_cs;                     // [sectors] sums of CS_is
  int breaches = 0, fines = 0, entries = 0, exits = 0;
  std::int64_t nonfinite = 0;  // non-finite utilities met in the consumer pass
};

// Per-step constants of the consumer pass, one entry per flat option (outside first in each
// sector; see Model::option_offset). Computed once per step, read N times.
struct OptionTable {
  std::vector<float> base;        // quality_weight*q - alpha*p (outside: outside_utility)
  std::vector<float> risk;        // [2 * options] rho for c_i = 0 and c_i = 1
  std::vector<std::uint8_t> open;     // 1 if the option can be chosen this step
  std::vector<std::uint8_t> exposes;  // bit 0: breach of the firm; bit 1: JV breach if consenting
  std::vector<float> data_per_activity;  // data_intensity of the sector
  std::vector<float> port_per_activity;  // portability * data_intensity / depreciation
};

struct State {
  std::int64_t step = 0;  // the next step to run
  RngKey key;
  Consumers consumers;
  Network network;
  Services services;
  Firms firms;
  Jv jv;
  StepTotals totals;
  // scratch, sized once
  OptionTable options;
  std::vector<double> partials;  // [chunks * tally width] chunk sums of the consumer pass
  std::vector<std::uint64_t> peer_words;  // [N] with a network: last step's choices of each
                                          // consumer as peer-count fields (consumers.cpp)
};

// Consumers per reduction chunk: sums inside a chunk run in consumer order and chunks are
// combined in chunk order, so results do not depend on the thread count.
inline constexpr std::uint32_t kChunk = 16384;

}  // namespace policysim
