// Social networks over consumers (MODEL.md section 2), generated from the counter-based stream
// so that the graph depends only on the seed, the replication and the parameters.
#pragma once

#include "policysim/scenario.hpp"
#include "policysim/state.hpp"

namespace policysim {

// Builds the graph `params.kind` over n consumers; an empty Network for `none`.
Network build_network(const NetworkParams& params, std::uint32_t n, const RngKey& key);

// The largest degree of a graph.
std::uint64_t largest_row(const Network& g);

// For tests: the same Watts-Strogatz graph built through the generic edge-list CSR (two passes
// with an atomic per edge end), which build_network uses only for degrees above 64.
Network watts_strogatz_from_edges(std::uint32_t n, std::uint32_t half, double rewire, const RngKey& key);

}  // namespace policysim
