#include "helpers.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "network.hpp"

namespace policysim::test {
namespace {

NetworkParams params(NetworkKind kind, std::int64_t degree, double rewire) {
  NetworkParams p;
  p.kind = kind;
  p.degree = degree;
  p.rewire = rewire;
  return p;
}

std::uint64_t degree_of(const Network& g, std::uint32_t i) { return g.offsets[i + 1] - g.offsets[i]; }

double mean_degree(const Network& g) {
  const auto n = g.offsets.size() - 1;
  return static_cast<double>(g.neighbours.size()) / static_cast<double>(n);
}

// Rows sorted strictly (so no duplicates), no self loops, every edge stored at both ends,
// offsets consistent with the neighbour array. Returns the number of violations.
std::int64_t csr_violations(const Network& g) {
  const auto n = static_cast<std::uint32_t>(g.offsets.size() - 1);
  std::int64_t bad = 0;
  if (g.offsets.front() != 0 || g.offsets.back() != g.neighbours.size()) ++bad;
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto b = g.neighbours.begin() + static_cast<std::ptrdiff_t>(g.offsets[i]);
    const auto e = g.neighbours.begin() + static_cast<std::ptrdiff_t>(g.offsets[i + 1]);
    if (g.offsets[i] > g.offsets[i + 1]) ++bad;
    for (auto it = b; it != e; ++it) {
      const std::uint32_t j = *it;
      if (j >= n) { ++bad; continue; }
      if (j == i) ++bad;                            // self loop
      if (it + 1 != e && !(*it < *(it + 1))) ++bad;  // unsorted or duplicate
      const auto jb = g.neighbours.begin() + static_cast<std::ptrdiff_t>(g.offsets[j]);
      const auto je = g.neighbours.begin() + static_cast<std::ptrdiff_t>(g.offsets[j + 1]);
      if (!std::binary_search(jb, je, i)) ++bad;  // asymmetric
    }
  }
  return bad;
}

std::uint32_t ring_distance(std::uint32_t i, std::uint32_t j, std::uint32_t n) {
  const std::uint32_t d = i > j ? i - j : j - i;
  return std::min(d, n - d);
}

}  // namespace

TEST_CASE("network: kind none gives an empty graph") {
  const Network g = build_network(params(NetworkKind::kNone, 10, 0.1), 1000, RngKey{1, 1});
  CHECK(g.empty());
  CHECK(g.neighbours.empty());
}

TEST_CASE("network: watts_strogatz with rewire 0 is the ring lattice i+-1..i+-degree/2") {
  const std::uint32_t n = 1000;
  for (const std::int64_t degree : {2, 6, 10}) {
    CAPTURE(degree);
    const Network g = build_network(params(NetworkKind::kWattsStrogatz, degree, 0.0), n, RngKey{7, 1});
    REQUIRE(g.offsets.size() == n + 1);
    CHECK(csr_violations(g) == 0);
    const auto half = static_cast<std::uint32_t>(degree / 2);
    std::int64_t wrong_degree = 0, wrong_row = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (degree_of(g, i) != static_cast<std::uint64_t>(degree)) ++wrong_degree;
      std::vector<std::uint32_t> expected;
      for (std::uint32_t d = 1; d <= half; ++d) {
        expected.push_back((i + d) % n);
        expected.push_back((i + n - d) % n);
      }
      std::sort(expected.begin(), expected.end());
      const std::vector<std::uint32_t> row(g.neighbours.begin() + static_cast<std::ptrdiff_t>(g.offsets[i]),
                                           g.neighbours.begin() + static_cast<std::ptrdiff_t>(g.offsets[i + 1]));
      if (row != expected) ++wrong_row;
    }
    CHECK(wrong_degree == 0);
    CHECK(wrong_row == 0);
  }
}

TEST_CASE("network: watts_strogatz rewiring keeps the mean degree, is a valid CSR and rewires a rewire share of edges") {
  const std::uint32_t n = 20000;
  const std::int64_t degree = 10;
  const double rewire = 0.2;
  const Network g = build_network(params(NetworkKind::kWattsStrogatz, degree, rewire), n, RngKey{3, 1});
  REQUIRE(g.offsets.size() == n + 1);
  CHECK(csr_violations(g) == 0);

  // n*degree/2 edges are laid; only a rewired edge that lands on an existing neighbour (or
  // on a partner already rewired to the same node) is lost as a duplicate. Each of the
  // n*half*rewire rewired edges hits one of at most 2*degree such nodes with probability
  // <= 2*degree/(n-1), so the expected loss in mean degree is at most
  // 2 * (n*half*rewire) * (2*degree/(n-1)) / n; allow five times that.
  const double half = static_cast<double>(degree) / 2;
  const double max_loss = 5.0 * 2.0 * half * rewire * 2.0 * static_cast<double>(degree) / (n - 1);
  CHECK(mean_degree(g) <= static_cast<double>(degree));
  CHECK(mean_degree(g) >= static_cast<double>(degree) - max_loss);

  // Edges to nodes beyond ring distance `half` are the rewired ones (a rewired edge lands
  // inside the ring neighbourhood with probability degree/(n-1), taken out of the
  // mean): their count is Binomial(n*half, rewire*(1 - degree/(n-1))).
  std::int64_t far_ends = 0;
  for (std::uint32_t i = 0; i < n; ++i)
    for (auto q = g.offsets[i]; q < g.offsets[i + 1]; ++q)
      if (ring_distance(i, g.neighbours[q], n) > half) ++far_ends;
  const double trials = n * half;
  const double p = rewire * (1.0 - static_cast<double>(degree) / (n - 1));
  const double far_edges = static_cast<double>(far_ends) / 2.0;
  POLICYSIM_CHECK_NEAR(far_edges, trials * p, 5.0 * std::sqrt(trials * p * (1 - p)));
}

TEST_CASE("network: watts_strogatz is the same graph as through the generic edge-list CSR") {
  // small rings (where ring edges wrap onto a node twice), no rewiring, some and all
  for (const std::uint32_t n : {7u, 12u, 1000u, 20011u})
    for (const std::uint32_t half : {1u, 3u, 5u})
      for (const double rewire : {0.0, 0.1, 1.0}) {
        if (2 * half >= n) continue;
        CAPTURE(n);
        CAPTURE(half);
        CAPTURE(rewire);
        const RngKey key{17, 2};
        const Network g = build_network(params(NetworkKind::kWattsStrogatz, 2 * half, rewire), n, key);
        const Network h = watts_strogatz_from_edges(n, half, rewire, key);
        CHECK(g.offsets == h.offsets);
        CHECK(g.neighbours == h.neighbours);
        CHECK(csr_violations(g) == 0);
      }
}

TEST_CASE("network: barabasi_albert has n nodes, degree/2 edges per new node and a heavy tail") {
  const std::uint32_t n = 20000;
  const std::int64_t degree = 10;
  const std::uint32_t m = static_cast<std::uint32_t>(degree / 2);
  const Network g = build_network(params(NetworkKind::kBarabasiAlbert, degree, 0.0), n, RngKey{5, 1});
  REQUIRE(g.offsets.size() == n + 1);
  CHECK(csr_violations(g) == 0);
  // a clique of m + 1 nodes, then m distinct earlier nodes for each of the other n - m - 1
  const double edges = m * (m + 1) / 2.0 + static_cast<double>(n - m - 1) * m;
  CHECK(static_cast<double>(g.neighbours.size()) == 2 * edges);
  POLICYSIM_CHECK_NEAR(mean_degree(g), static_cast<double>(degree), 2.0 * m * (m + 1) / n);
  std::uint64_t max_degree = 0, min_degree = UINT64_MAX;
  for (std::uint32_t i = 0; i < n; ++i) {
    max_degree = std::max(max_degree, degree_of(g, i));
    min_degree = std::min(min_degree, degree_of(g, i));
  }
  CHECK(min_degree >= m);
  // preferential attachment: the largest hub grows like m*sqrt(n) (~700 here); a graph
  // without it (Poisson-like degrees around 10) has no node near ten times the mean
  CHECK(static_cast<double>(max_degree) > 10.0 * mean_degree(g));

  const Network ws = build_network(params(NetworkKind::kWattsStrogatz, degree, 0.2), n, RngKey{5, 1});
  std::uint64_t ws_max = 0;
  for (std::uint32_t i = 0; i < n; ++i) ws_max = std::max(ws_max, degree_of(ws, i));
  CHECK(ws_max < max_degree / 10);
}

TEST_CASE("network: the same seed gives the same graph and another seed a different one") {
  for (const auto kind : {NetworkKind::kWattsStrogatz, NetworkKind::kBarabasiAlbert}) {
    CAPTURE(static_cast<int>(kind));
    const auto p = params(kind, 8, 0.3);
    const Network a = build_network(p, 5000, RngKey{11, 1});
    const Network b = build_network(p, 5000, RngKey{11, 1});
    const Network other_seed = build_network(p, 5000, RngKey{12, 1});
    const Network other_rep = build_network(p, 5000, RngKey{11, 2});
    CHECK(a.offsets == b.offsets);
    CHECK(a.neighbours == b.neighbours);
    CHECK(a.neighbours != other_seed.neighbours);
    CHECK(a.neighbours != other_rep.neighbours);
  }
}

TEST_CASE("network: initial_state builds the scenario's network over the consumers") {
  const Model m = build_model(scenario_from(kTwoFirms, {{"network.kind", "watts_strogatz"},
                                                        {"network.degree", "4"},
                                                        {"network.rewire", "0.0"}}));
  const State st = initial_state(m, 1);
  REQUIRE(st.network.offsets.size() == m.consumers + 1);
  CHECK(st.network.neighbours.size() == 4u * m.consumers);
  // the peers' snapshot is the one-word peer counts (made by the pass), not a copy of the choices
  CHECK(st.consumers.previous.empty());
  CHECK(st.peer_words.empty());
}

}  // namespace policysim::test
