// Output files (MODEL.md section 7). Every file is written under a temporary name in its
// directory and renamed when complete, so a final name never holds a partial file.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policysim/metrics.hpp"
#include "policysim/model.hpp"
#include "policysim/state.hpp"

namespace policysim {

namespace fs = std::filesystem;

// A file that appears complete or not at all: `.NAME.part` until commit() renames it. Every
// failure (cannot open, short write, full disk at flush or fsync, rename) is an IoError naming
// the file, and the temporary file is removed, unless keep_partial() handed it over for a resume.
class AtomicFile {
 public:
  explicit AtomicFile(fs::path path);
  // Reopens an existing `.NAME.part` cut back to its first `length` bytes, to append to it
  // (resuming a run); an InputError when it is missing or shorter than `length`.
  AtomicFile(fs::path path, std::uint64_t length);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temporary file if never committed nor kept
  std::FILE* handle() { return file_; }
  void write(std::string_view text);
  void write_bytes(const void* data, std::size_t size);
  // Flushes to the kernel and to the disk (fsync): every byte written so far survives a crash.
  void sync();
  void commit();  // flush, fsync, close, check for errors, rename to the final name
  // Closes the file and leaves it under its temporary name (an interrupted run resumes it).
  // Never throws: it runs on the way out of a failure too.
  void keep_partial() noexcept;
  std::uint64_t bytes() const { return bytes_; }  // length of the file so far
  const fs::path& path() const { return path_; }
  const fs::path& temp_path() const { return temp_; }

 private:
  void open(const char* mode);
  fs::path path_, temp_;
  std::FILE* file_ = nullptr;
  std::uint64_t bytes_ = 0;
};

// Test seam: how AtomicFile opens its temporary file (default std::fopen). Tests return a
// handle on /dev/full to see what a full disk does; nullptr restores the default.
using FileOpener = std::FILE* (*)(const char* path, const char* mode);
void set_file_opener_for_testing(FileOpener opener);

// Writes `text` to `path` atomically.
void write_file_atomic(const fs::path& path, std::string_view text);

// A CSV line from already-formatted cells.
std::string csv_line(const std::vector<std::string>& cells);
// A number as CSV text: the shortest text that reads back to the same double.
std::string csv_number(double x);

// The four per-step CSV files of one replication, in the order of kRunFiles.
inline constexpr std::array<const char*, 4> kRunFiles = {"metrics.csv", "sectors.csv", "services.csv", "firms.csv"};
using OutputBytes = std::array<std::uint64_t, kRunFiles.size()>;

class RunWriter {
 public:
  // New files, header rows written.
  RunWriter(const fs::path& dir, const Model& model);
  // The `.part` files of an interrupted replication, cut back to `bytes` (see AtomicFile).
  RunWriter(const fs::path& dir, const OutputBytes& bytes);
  void write_step(const Model& model, const State& state, const MetricsRow& row);
  // Flushes and fsyncs every file; returns their lengths, for a checkpoint.
  OutputBytes sync();
  void commit();
  void keep_partial() noexcept;

 private:
  std::array<std::unique_ptr<AtomicFile>, kRunFiles.size()> files_;
};

// Lowercase hex SHA-256 of a file's bytes, and of a text.
std::string sha256_file(const fs::path& path);
std::string sha256_text(std::string_view text);

// The resolved scenario as JSON, for manifests.
nlohmann::json scenario_json(const Scenario& scenario);

// Whether `dir` exists and holds anything.
bool non_empty_dir(const fs::path& dir);

}  // namespace policysim
