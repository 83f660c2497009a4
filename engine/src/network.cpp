#include "network.hpp"

#include <algorithm>

#include "policysim/errors.hpp"

namespace policysim {
namespace {

// A node other than `self`, uniform over the other n - 1.
std::uint32_t other_node(std::uint32_t self, std::uint32_t n, std::uint32_t lane) {
  const auto r = static_cast<std::uint32_t>((static_cast<std::uint64_t>(lane) * (n - 1)) >> 32);
  return r >= self ? r + 1 : r;
}

// CSR from an undirected edge list given as a callback `for_each_edge(f)` calling f(u, v) for
// each edge; rows are sorted and de-duplicated, self loops dropped.
template <class ForEachEdge>
Network to_csr(std::uint32_t n, ForEachEdge&& for_each_edge) {
  Network g;
  std::vector<std::uint64_t> degree(static_cast<std::size_t>(n) + 1, 0);
  for_each_edge([&](std::uint32_t u, std::uint32_t v) {
    if (u == v) return;
    ++degree[u + 1];
    ++degree[v + 1];
  });
  for (std::uint32_t i = 0; i < n; ++i) degree[i + 1] += degree[i];
  std::vector<std::uint32_t> nb(degree[n]);
  std::vector<std::uint64_t> fill(degree.begin(), degree.end() - 1);
  for_each_edge([&](std::uint32_t u, std::uint32_t v) {
    if (u == v) return;
    nb[fill[u]++] = v;
    nb[fill[v]++] = u;
  });
  // Sort each row and squeeze out duplicates in place.
  g.offsets.assign(static_cast<std::size_t>(n) + 1, 0);
  std::uint64_t out = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto begin = nb.begin() + static_cast<std::ptrdiff_t>(degree[i]);
    const auto end = nb.begin() + static_cast<std::ptrdiff_t>(degree[i + 1]);
    std::sort(begin, end);
    const auto last = std::unique(begin, end);
    g.offsets[i] = out;
    for (auto it = begin; it != last; ++it) nb[out++] = *it;
  }
  g.offsets[n] = out;
  nb.resize(out);
  nb.shrink_to_fit();
  g.neighbours = std::move(nb);
  return g;
}

// Watts-Strogatz: each node links to the degree/2 next nodes on a ring; each such edge has its
// far end rewired to a uniform other node with probability `rewire`.
Network watts_strogatz(std::uint32_t n, std::uint32_t half, double rewire, const RngKey& key) {
  const std::uint64_t cut = threshold(rewire);
  return to_csr(n, [&](auto&& emit) {
    for (std::uint32_t i = 0; i < n; ++i) {
      for (std::uint32_t j = 1; j <= half; j += 2) {
        // one draw serves two edges: lanes 0-1 for edge j, lanes 2-3 for edge j + 1
        const Lanes r = draw(key, Stream::kNetwork, 0, i, (j - 1) / 2);
        for (std::uint32_t e = 0; e < 2 && j + e <= half; ++e) {
          const std::uint32_t ring = static_cast<std::uint32_t>((static_cast<std::uint64_t>(i) + j + e) % n);
          emit(i, r[2 * e] < cut ? other_node(i, n, r[2 * e + 1]) : ring);
        }
      }
    }
  });
}

// Barabasi-Albert: a clique of m + 1 nodes, then each new node links to m distinct earlier
// nodes drawn with probability proportional to degree (uniform over edge endpoints).
Network barabasi_albert(std::uint32_t n, std::uint32_t m, const RngKey& key) {
  std::vector<std::uint32_t> ends;  // every edge's two endpoints: degree-proportional sampling
  ends.reserve(2 * static_cast<std::size_t>(m) * n);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;
  edges.reserve(static_cast<std::size_t>(m) * n);
  const std::uint32_t seed_nodes = std::min(n, m + 1);
  for (std::uint32_t u = 0; u < seed_nodes; ++u)
    for (std::uint32_t v = u + 1; v < seed_nodes; ++v) {
      edges.emplace_back(u, v);
      ends.push_back(u);
      ends.push_back(v);
    }
  std::vector<std::uint32_t> picked;
  for (std::uint32_t t = seed_nodes; t < n; ++t) {
    CounterEngine engine(key, Stream::kNetwork, 1, t);
    picked.clear();
    const std::size_t pool = ends.size();
    for (int tries = 0; picked.size() < m && tries < 64 * static_cast<int>(m); ++tries) {
      const auto v = ends[static_cast<std::size_t>((static_cast<std::uint64_t>(engine()) * pool) >> 32)];
      if (std::find(picked.begin(), picked.end(), v) == picked.end()) picked.push_back(v);
    }
    for (auto v : picked) {
      edges.emplace_back(t, v);
      ends.push_back(t);
      ends.push_back(v);
    }
  }
  std::vector<std::uint32_t>().swap(ends);
  return to_csr(n, [&](auto&& emit) {
    for (const auto& [u, v] : edges) emit(u, v);
  });
}

}  // namespace

Network build_network(const NetworkParams& params, std::uint32_t n, const RngKey& key) {
  const auto half = static_cast<std::uint32_t>(params.degree / 2);
  switch (params.kind) {
    case NetworkKind::kNone: return {};
    case NetworkKind::kWattsStrogatz: return watts_strogatz(n, half, params.rewire, key);
    case NetworkKind::kBarabasiAlbert: return barabasi_albert(n, half, key);
  }
  return {};
}

}  // namespace policysim
