// The memory guard: what a run will allocate, estimated from N, the sectors and the network
// before anything is allocated, against what the machine has free, so that a run too large
// for the machine fails in a second with a clear message instead of swapping or being killed.
#pragma once

#include <cstdint>
#include <optional>

#include "policysim/model.hpp"

namespace policysim {

// Peak bytes of one replication: the consumer arrays of state.hpp, the network with the
// transient arrays of its construction, the consumer pass's chunk partials and a fixed
// allowance for the program and the threads' scratch.
std::uint64_t estimate_run_bytes(const Model& model);

// Bytes this process can still allocate: MemAvailable of /proc/meminfo, lowered by a cgroup
// memory limit when there is one; nullopt when neither can be read.
std::optional<std::uint64_t> available_memory_bytes();

// InputError with both figures in GiB when the estimate exceeds `available` (unless `force`).
void check_memory(const Model& model, std::optional<std::uint64_t> available, bool force);

}  // namespace policysim
