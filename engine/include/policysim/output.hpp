// Output files (MODEL.md section 7). Every file is written under a temporary name in its
// directory and renamed when complete, so a final name never holds a partial file.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policysim/metrics.hpp"
#include "policysim/model.hpp"
#include "policysim/state.hpp"

namespace policysim {

namespace fs = std::filesystem;

// A file that appears complete or not at all: `.NAME.part` until commit() renames it.
class AtomicFile {
 public:
  explicit AtomicFile(fs::path path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temporary file if never committed
  std::FILE* handle() { return file_; }
  void write(std::string_view text);
  void commit();  // flush, close, check for errors, rename to the final name
  const fs::path& path() const { return path_; }

 private:
  fs::path path_, temp_;
  std::FILE* file_ = nullptr;
};

// Writes `text` to `path` atomically.
void write_file_atomic(const fs::path& path, std::string_view text);

// A CSV line from already-formatted cells.
std::string csv_line(const std::vector<std::string>& cells);
// A number as CSV text: the shortest text that reads back to the same double.
std::string csv_number(double x);

// The four per-step CSV files of one replication.
class RunWriter {
 public:
  RunWriter(const fs::path& dir, const Model& model);
  void write_step(const Model& model, const State& state, const MetricsRow& row);
  void commit();

 private:
  AtomicFile metrics_, sectors_, services_, firms_;
};

// Lowercase hex SHA-256 of a file's bytes.
std::string sha256_file(const fs::path& path);

// The resolved scenario as JSON, for manifests.
nlohmann::json scenario_json(const Scenario& scenario);

// Whether `dir` exists and holds anything.
bool non_empty_dir(const fs::path& dir);

}  // namespace policysim
