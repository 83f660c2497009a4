#include "memory.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "consumers.hpp"
#include "policysim/errors.hpp"

namespace policysim {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr std::uint64_t kFixedBytes = std::uint64_t{96} << 20;  // program, model, threads, output buffers

// MemAvailable from a /proc/meminfo text, in bytes.
std::optional<std::uint64_t> meminfo_available(const std::string& path) {
  std::ifstream in(path);
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return std::nullopt;
}

// A cgroup v2 limit minus what the group uses; nullopt without a limit.
std::optional<std::uint64_t> cgroup_available() {
  std::ifstream max("/sys/fs/cgroup/memory.max"), current("/sys/fs/cgroup/memory.current");
  std::string limit;
  std::uint64_t used = 0;
  if (!(max >> limit) || limit == "max" || !(current >> used)) return std::nullopt;
  const std::uint64_t cap = std::stoull(limit);
  return cap > used ? cap - used : 0;
}

}  // namespace

std::uint64_t estimate_run_bytes(const Model& m) {
  const std::uint64_t n = m.consumers, sectors = static_cast<std::uint64_t>(m.sectors);
  const bool network = m.scenario.network.kind != NetworkKind::kNone;
  // Consumers (state.hpp): privacy, activity, trust 4 bytes each, consent 1, choice one byte
  // per sector, and with a network the peers' snapshot: an 8-byte word per consumer where
  // their counts fit one (see consumers.cpp), else the previous step's choices.
  std::uint64_t bytes = n * (4 + 4 + 4 + 1 + sectors + (network ? std::max<std::uint64_t>(sectors, 8) : 0));
  // Network (network.cpp): the CSR arrays, 4 bytes per neighbour (degree per consumer) and 8 per
  // offset, peak while they are built: to_csr holds the degree counts, the fill cursors and the
  // offsets (8 bytes per consumer each) next to the raw neighbour list; Barabasi-Albert also
  // keeps its edge list (8 bytes per edge, degree/2 edges per node) through that, and
  // Watts-Strogatz the far ends of its rewired edges (4 bytes each, degree/2 * rewire a node).
  const auto degree = static_cast<std::uint64_t>(m.scenario.network.degree);
  const auto far_ends = static_cast<std::uint64_t>(std::ceil(static_cast<double>(n * 4 * (degree / 2)) * m.scenario.network.rewire));
  switch (m.scenario.network.kind) {
    case NetworkKind::kNone: break;
    case NetworkKind::kWattsStrogatz: bytes += n * (4 * degree + 24) + far_ends; break;
    case NetworkKind::kBarabasiAlbert: bytes += n * (8 * degree + 24); break;
  }
  // Chunk partials of the consumer pass: one tally row of doubles per chunk.
  bytes += (n + kChunk - 1) / kChunk * tally_width(m) * sizeof(double);
  return bytes + kFixedBytes;
}

std::optional<std::uint64_t> available_memory_bytes() {
  auto available = meminfo_available("/proc/meminfo");
  if (const auto cg = cgroup_available()) available = available ? std::min(*available, *cg) : *cg;
  return available;
}

void check_memory(const Model& m, std::optional<std::uint64_t> available, bool force) {
  if (force || !available) return;
  const std::uint64_t need = estimate_run_bytes(m);
  if (need <= *available) return;
  throw InputError(fmt::format(
      "consumers.count = {} with {} sectors and network '{}' needs an estimated {:.1f} GiB of memory, but only "
      "{:.1f} GiB is available (MemAvailable in /proc/meminfo, or the cgroup limit): lower consumers.count, or "
      "use --force to try anyway",
      m.consumers, m.sectors, enum_name(m.scenario.network.kind), static_cast<double>(need) / kGiB,
      static_cast<double>(*available) / kGiB));
}

}  // namespace policysim
