// The consumer pass (MODEL.md step 2): trust, consent, logit choice per sector, surplus and
// data, in parallel over consumers, summed per chunk and combined in chunk order.
#pragma once

#include "policysim/model.hpp"
#include "policysim/state.hpp"

namespace policysim {

// Width of one chunk's partial sums: per option users, data, consented data, ported data;
// per sector surplus; then trust, consent, privacy harm and the non-finite count.
std::size_t tally_width(const Model& model);

// Fills state.options from last step's market (quality, prices, contribution rates, breaches).
void prepare_options(const Model& model, const Phase& phase, State& state);

// For tests: count neighbours' choices on the general path even where the one-word one applies
// (both must give the same results).
void use_general_peer_count(bool on);

// For tests: compute weights an option at a time even for sectors whose services are all open
// (both must give the same results).
void use_general_weights(bool on);

// For tests: whether the pass visits revisers one at a time (sparse) or computes every group's
// draws in vector lanes (dense): chosen from the revision rates (kAuto), or forced (all must
// give the same results).
enum class Revisers { kAuto, kSparse, kDense };
void use_revisers(Revisers r);

// Runs every consumer once, then writes users, data flows and totals into the state.
void consumer_pass(const Model& model, const Phase& phase, State& state);

}  // namespace policysim
