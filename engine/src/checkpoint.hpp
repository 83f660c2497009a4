// Checkpoints: the whole State of a replication plus where the run stands (which replication,
// the finished replications' summary rows, the rows that feed this replication's summary, the
// byte length of each CSV written so far), in one binary file written atomically. A resumed run
// continues from it and writes files byte-identical to a run that never stopped.
//
// Layout (native byte order, little-endian on every supported machine):
//   "PSIMCKPT"  u32 format  str engine_version  str scenario_sha256
//   u32 consumers  i32 sectors  i32 services  i32 firms  i64 steps  i64 replications  u8 network
//   position: i64 replication  str summary  u64 bytes[4]  u64 rows, f64 row[rows][15]
//             str start_time  f64 wall_seconds
//   state: per field (state_field_names() order) str name, then the value: a scalar as its
//          bytes, an array as u64 length and its elements' bytes
//   "PSIMEND!"
// where str is u32 length and bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policysim/metrics.hpp"
#include "policysim/model.hpp"
#include "policysim/output.hpp"
#include "policysim/state.hpp"

namespace policysim {

// Raised whenever the layout above or the field list changes: a checkpoint of another format
// is refused rather than misread.
inline constexpr std::uint32_t kCheckpointFormat = 2;
inline constexpr const char* kCheckpointName = "checkpoint.bin";

// Where a run stands beyond the replication's State.
struct RunPosition {
  std::int64_t replication = 1;   // the replication in progress, 1-based
  std::string summary;            // summary.csv so far: header and one row per finished replication
  OutputBytes output_bytes{};     // bytes of this replication's CSVs (kRunFiles order) at the checkpoint
  std::vector<MetricsRow> rows;   // this replication's metrics rows so far: RunSummary replays them
  std::string start_time;         // of this replication, for its manifest
  double wall_seconds = 0;        // spent on this replication before the checkpoint
};

// What identifies the run a checkpoint belongs to: sha256 of the resolved scenario's text
// (to_toml_text, so overrides and --seed/--steps/--replications count).
std::string scenario_hash(const Scenario& scenario);

// Writes the checkpoint atomically (temporary name, fsync, rename).
void write_checkpoint(const fs::path& path, const Model& model, const std::string& scenario_sha256,
                      const RunPosition& position, const State& state);

// Reads the header and the position only (cheap, allocates no state); InputError when the file
// is not a checkpoint, is of another format, engine version or scenario, or is damaged.
RunPosition read_checkpoint_position(const fs::path& path, const Model& model, const std::string& scenario_sha256);
// Reads everything, with the same checks, and checks every array's shape against the model.
void read_checkpoint(const fs::path& path, const Model& model, const std::string& scenario_sha256,
                     RunPosition& position, State& state);

// The names of every State field, in the order the checkpoint stores them.
std::vector<std::string> state_field_names();
// The first field (by name) in which two states differ, "" if they are equal in every field.
std::string first_state_difference(const State& a, const State& b);
// Bytes held by the state's arrays (size times element size), for memory estimates.
std::uint64_t state_array_bytes(const State& state);

}  // namespace policysim
