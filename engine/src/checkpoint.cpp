#include "checkpoint.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <type_traits>

#include <fmt/format.h>

#include "policysim/errors.hpp"
#include "policysim/simulation.hpp"
#include "network.hpp"
#include "policysim/version.hpp"

namespace policysim {
namespace {

// ---- Every field of State, in one place ------------------------------------------------------
// The checkpoint writes, reads and compares State through this list and nothing else. A field
// added to State or to one of its parts (state.hpp) must be added here, in any position, and
// kCheckpointFormat raised by one; until then the test "checkpoint: the field list covers every
// field of State" fails. Scratch is listed too (options, partials, peer_words), so that a restored
// state is equal to the saved one in every byte.
template <class S, class V>
void for_each_state_field(S& st, V&& v) {
  v("step", st.step);
  v("key.seed", st.key.seed);
  v("key.replication", st.key.replication);
  auto& c = st.consumers;
  v("consumers.privacy", c.privacy);
  v("consumers.activity", c.activity);
  v("consumers.trust", c.trust);
  v("consumers.consent", c.consent);
  v("consumers.choice", c.choice);
  v("consumers.previous", c.previous);
  v("network.offsets", st.network.offsets);
  v("network.neighbours", st.network.neighbours);
  v("network.max_degree", st.network.max_degree);
  auto& sv = st.services;
  v("services.price", sv.price);
  v("services.quality", sv.quality);
  v("services.data", sv.data);
  v("services.users", sv.users);
  v("services.share", sv.share);
  v("services.sector_share", sv.sector_share);
  v("services.data_flow", sv.data_flow);
  v("services.consented_flow", sv.consented_flow);
  v("services.ported", sv.ported);
  v("services.contribution", sv.contribution);
  v("services.revenue", sv.revenue);
  v("services.active", sv.active);
  v("services.low_share_steps", sv.low_share_steps);
  auto& fm = st.firms;
  v("firms.innovation", fm.innovation);
  v("firms.contribution_rate", fm.contribution_rate);
  v("firms.revenue", fm.revenue);
  v("firms.profit", fm.profit);
  v("firms.fines", fm.fines);
  v("firms.dividends", fm.dividends);
  v("firms.fees", fm.fees);
  v("firms.compliance", fm.compliance);
  v("firms.jv_contribution", fm.jv_contribution);
  v("firms.active", fm.active);
  v("firms.remedy", fm.remedy);
  v("firms.breached", fm.breached);
  v("firms.dominant_steps", fm.dominant_steps);
  v("firms.last_fine_step", fm.last_fine_step);
  v("firms.revenue_history", fm.revenue_history);
  v("jv.data", st.jv.data);
  v("jv.inflow", st.jv.inflow);
  v("jv.revenue", st.jv.revenue);
  v("jv.state_income", st.jv.state_income);
  v("jv.breached", st.jv.breached);
  auto& t = st.totals;
  v("totals.cs", t.cs);
  v("totals.trust", t.trust);
  v("totals.consent", t.consent);
  v("totals.harm", t.harm);
  v("totals.sector_cs", t.sector_cs);
  v("totals.breaches", t.breaches);
  v("totals.fines", t.fines);
  v("totals.entries", t.entries);
  v("totals.exits", t.exits);
  v("totals.nonfinite", t.nonfinite);
  auto& o = st.options;
  v("options.base", o.base);
  v("options.risk", o.risk);
  v("options.open", o.open);
  v("options.exposes", o.exposes);
  v("options.data_per_activity", o.data_per_activity);
  v("options.port_per_activity", o.port_per_activity);
  v("partials", st.partials);
  v("peer_words", st.peer_words);
}

template <class T>
struct IsVector : std::false_type {};
template <class T, class A>
struct IsVector<std::vector<T, A>> : std::true_type {};

constexpr char kMagic[8] = {'P', 'S', 'I', 'M', 'C', 'K', 'P', 'T'};
constexpr char kEndMagic[8] = {'P', 'S', 'I', 'M', 'E', 'N', 'D', '!'};

// Binary output onto an AtomicFile.
class Out {
 public:
  explicit Out(AtomicFile& f) : f_(f) {}
  void bytes(const void* p, std::size_t n) { f_.write_bytes(p, n); }
  template <class T>
    requires std::is_arithmetic_v<T>
  void value(T x) {
    bytes(&x, sizeof x);
  }
  void value(bool x) { value(static_cast<std::uint8_t>(x)); }
  void text(const std::string& s) {
    value(static_cast<std::uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  template <class T, class A>
  void array(const std::vector<T, A>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    value(static_cast<std::uint64_t>(v.size()));
    bytes(v.data(), v.size() * sizeof(T));
  }
  template <class T>
  void field(const char* name, const T& x) {
    text(name);
    if constexpr (IsVector<T>::value) array(x);
    else value(x);
  }

 private:
  AtomicFile& f_;
};

// Binary input with every read bounded by what is left of the file, so that a damaged length
// is an error and never a huge allocation.
class In {
 public:
  explicit In(const fs::path& path) : path_(path) {
    std::error_code ec;
    remaining_ = fs::file_size(path, ec);
    if (ec) throw InputError(fmt::format("{}: cannot read the checkpoint: {}", path.string(), ec.message()));
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) {
      const int err = errno;
      throw InputError(fmt::format("{}: cannot read the checkpoint: {}", path.string(), std::strerror(err)));
    }
  }
  [[noreturn]] void damaged(const std::string& what) const {
    throw InputError(fmt::format("{}: damaged checkpoint: {}", path_.string(), what));
  }
  void bytes(void* p, std::size_t n) {
    if (n == 0) return;  // an empty array's data() may be null
    if (n > remaining_ || std::fread(p, 1, n, file_.get()) != n) damaged("the file ends early (truncated?)");
    remaining_ -= n;
  }
  template <class T>
    requires std::is_arithmetic_v<T>
  T value() {
    T x;
    bytes(&x, sizeof x);
    return x;
  }
  template <class T>
    requires std::is_arithmetic_v<T>
  void value(T& x) {
    x = value<T>();
  }
  void value(bool& x) { x = value<std::uint8_t>() != 0; }
  std::string text() {
    const auto n = value<std::uint32_t>();
    if (n > remaining_) damaged("a text longer than the rest of the file");
    std::string s(n, '\0');
    bytes(s.data(), n);
    return s;
  }
  template <class T, class A>
  void array(std::vector<T, A>& v) {
    const auto n = value<std::uint64_t>();
    if (n > remaining_ / sizeof(T)) damaged("an array longer than the rest of the file");
    v.resize(static_cast<std::size_t>(n));
    v.shrink_to_fit();
    bytes(v.data(), v.size() * sizeof(T));
  }
  template <class T>
  void field(const char* name, T& x) {
    const std::string got = text();
    if (got != name) damaged(fmt::format("expected the field '{}', found '{}'", name, got));
    if constexpr (IsVector<T>::value) array(x);
    else value(x);
  }

 private:
  struct Close {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  fs::path path_;
  std::unique_ptr<std::FILE, Close> file_;
  std::uint64_t remaining_ = 0;
};

struct Shape {
  std::uint32_t consumers;
  std::int32_t sectors, services, firms;
  std::int64_t steps, replications;
  std::uint8_t network;
  bool operator==(const Shape&) const = default;
};

Shape shape_of(const Model& m) {
  return {m.consumers, m.sectors, m.services, m.firms, m.steps, m.scenario.scenario.replications,
          static_cast<std::uint8_t>(m.scenario.network.kind)};
}

// The header and the position; the reader is left at the first state field.
RunPosition read_front(In& in, const fs::path& path, const Model& m, const std::string& sha) {
  char magic[8];
  try {
    in.bytes(magic, sizeof magic);
  } catch (const InputError&) {
    throw InputError(fmt::format("{}: not a policysim checkpoint (too short)", path.string()));
  }
  if (std::memcmp(magic, kMagic, sizeof magic) != 0)
    throw InputError(fmt::format("{}: not a policysim checkpoint (no PSIMCKPT header)", path.string()));
  const auto format = in.value<std::uint32_t>();
  if (format != kCheckpointFormat)
    throw InputError(fmt::format("{}: checkpoint format {} cannot be read by this engine (policysim {} reads "
                                 "format {}): resume with the engine that wrote it, or start the run again",
                                 path.string(), format, kVersion, kCheckpointFormat));
  const std::string version = in.text();
  if (version != kVersion)
    throw InputError(fmt::format("{}: the checkpoint was written by policysim {}, this is policysim {}: resume "
                                 "with the engine that wrote it, or start the run again",
                                 path.string(), version, kVersion));
  const std::string their_sha = in.text();
  if (their_sha != sha)
    throw InputError(fmt::format(
        "{}: the checkpoint belongs to another scenario (resolved scenario sha256 {}, this run's is {}): give "
        "the same scenario file and the same --set, --seed, --steps and --replications as the interrupted run",
        path.string(), their_sha, sha));
  Shape shape{};
  in.value(shape.consumers);
  in.value(shape.sectors);
  in.value(shape.services);
  in.value(shape.firms);
  in.value(shape.steps);
  in.value(shape.replications);
  in.value(shape.network);
  if (!(shape == shape_of(m))) in.damaged("its sizes do not match its scenario");
  RunPosition pos;
  in.value(pos.replication);
  if (pos.replication < 1 || pos.replication > shape.replications) in.damaged("replication out of range");
  pos.summary = in.text();
  for (auto& b : pos.output_bytes) in.value(b);
  const auto rows = in.value<std::uint64_t>();
  if (rows > static_cast<std::uint64_t>(m.steps)) in.damaged("more metrics rows than steps");
  pos.rows.resize(static_cast<std::size_t>(rows));
  for (auto& row : pos.rows) in.bytes(row.data(), sizeof row);
  pos.start_time = in.text();
  in.value(pos.wall_seconds);
  return pos;
}

// Every array has the shape the model gives it, and every index in range: a damaged file
// that passed the other checks must not make a later step read out of bounds.
void check_shapes(In& in, const Model& m, const RunPosition& pos, const State& st) {
  const auto n = static_cast<std::size_t>(m.consumers);
  const auto sectors = static_cast<std::size_t>(m.sectors);
  const auto ns = static_cast<std::size_t>(m.services), nf = static_cast<std::size_t>(m.firms);
  const auto need = [&](bool ok, const char* what) {
    if (!ok) in.damaged(fmt::format("{} has the wrong size or value", what));
  };
  need(st.step == static_cast<std::int64_t>(pos.rows.size()) && st.step <= m.steps, "step");
  need(static_cast<std::int64_t>(st.key.replication) == pos.replication, "key.replication");
  const auto& c = st.consumers;
  need(c.privacy.size() == n && c.activity.size() == n && c.trust.size() == n && c.consent.size() == n,
       "consumers");
  need(c.choice.size() == n * sectors, "consumers.choice");
  const bool network = m.scenario.network.kind != NetworkKind::kNone;
  need(c.previous.empty() || (network && c.previous.size() == n * sectors), "consumers.previous");
  need(st.peer_words.empty() || (network && st.peer_words.size() == n), "peer_words");
  for (std::size_t i = 0; i < c.choice.size(); ++i)
    if (c.choice[i] > m.sector_services[i % sectors].size()) need(false, "consumers.choice");
  const auto& g = st.network;
  need(g.offsets.size() == (network ? n + 1 : 0), "network.offsets");
  if (network) {
    need(g.offsets.front() == 0 && g.offsets.back() == g.neighbours.size(), "network.offsets");
    for (std::size_t i = 0; i < n; ++i) need(g.offsets[i] <= g.offsets[i + 1], "network.offsets");
    for (const auto j : g.neighbours) need(j < n, "network.neighbours");
    need(g.max_degree == largest_row(g), "network.max_degree");
  }
  const auto& sv = st.services;
  for (const auto* v : {&sv.price, &sv.quality, &sv.data, &sv.users, &sv.share, &sv.sector_share, &sv.data_flow,
                        &sv.consented_flow, &sv.ported, &sv.contribution, &sv.revenue})
    need(v->size() == ns, "services");
  need(sv.active.size() == ns && sv.low_share_steps.size() == ns, "services");
  const auto& fm = st.firms;
  for (const auto* v : {&fm.innovation, &fm.contribution_rate, &fm.revenue, &fm.profit, &fm.fines, &fm.dividends,
                        &fm.fees, &fm.compliance, &fm.jv_contribution})
    need(v->size() == nf, "firms");
  need(fm.active.size() == nf && fm.remedy.size() == nf && fm.breached.size() == nf &&
           fm.dominant_steps.size() == nf && fm.last_fine_step.size() == nf && fm.revenue_history.size() == nf,
       "firms");
  need(st.totals.sector_cs.size() == sectors, "totals.sector_cs");
  const auto options = static_cast<std::size_t>(m.options);
  const auto& o = st.options;
  need(o.base.empty() || (o.base.size() == options && o.risk.size() == 2 * options && o.open.size() == options &&
                          o.exposes.size() == options && o.data_per_activity.size() == options &&
                          o.port_per_activity.size() == options),
       "options");
}

}  // namespace

std::string scenario_hash(const Scenario& scenario) { return sha256_text(to_toml_text(scenario)); }

void write_checkpoint(const fs::path& path, const Model& m, const std::string& sha, const RunPosition& pos,
                      const State& st) {
  AtomicFile file(path);
  Out out(file);
  out.bytes(kMagic, sizeof kMagic);
  out.value(kCheckpointFormat);
  out.text(kVersion);
  out.text(sha);
  const Shape shape = shape_of(m);
  out.value(shape.consumers);
  out.value(shape.sectors);
  out.value(shape.services);
  out.value(shape.firms);
  out.value(shape.steps);
  out.value(shape.replications);
  out.value(shape.network);
  out.value(pos.replication);
  out.text(pos.summary);
  for (const auto b : pos.output_bytes) out.value(b);
  out.value(static_cast<std::uint64_t>(pos.rows.size()));
  for (const auto& row : pos.rows) out.bytes(row.data(), sizeof row);
  out.text(pos.start_time);
  out.value(pos.wall_seconds);
  for_each_state_field(st, [&](const char* name, const auto& x) { out.field(name, x); });
  out.bytes(kEndMagic, sizeof kEndMagic);
  file.commit();
}

RunPosition read_checkpoint_position(const fs::path& path, const Model& m, const std::string& sha) {
  In in(path);
  return read_front(in, path, m, sha);
}

void read_checkpoint(const fs::path& path, const Model& m, const std::string& sha, RunPosition& pos, State& st) {
  In in(path);
  pos = read_front(in, path, m, sha);
  st = State{};
  for_each_state_field(st, [&](const char* name, auto& x) { in.field(name, x); });
  char end[8];
  in.bytes(end, sizeof end);
  if (std::memcmp(end, kEndMagic, sizeof end) != 0) in.damaged("no end marker after the last field");
  check_shapes(in, m, pos, st);
}

std::vector<std::string> state_field_names() {
  std::vector<std::string> names;
  State st;
  for_each_state_field(st, [&](const char* name, const auto&) { names.emplace_back(name); });
  return names;
}

namespace {

template <class T>
std::string_view raw_bytes(const T& x) {
  if constexpr (IsVector<T>::value)
    return {reinterpret_cast<const char*>(x.data()), x.size() * sizeof(typename T::value_type)};
  else
    return {reinterpret_cast<const char*>(&x), sizeof x};
}

}  // namespace

std::string first_state_difference(const State& a, const State& b) {
  std::vector<std::pair<const char*, std::string_view>> fields;
  for_each_state_field(a, [&](const char* name, const auto& x) { fields.emplace_back(name, raw_bytes(x)); });
  std::size_t i = 0;
  std::string first;
  for_each_state_field(b, [&](const char* name, const auto& x) {
    const auto bytes = raw_bytes(x);
    if (first.empty() && (fields[i].second.size() != bytes.size() || fields[i].second != bytes)) first = name;
    ++i;
  });
  return first;
}

std::uint64_t state_digest(const State& st) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a over every field's bytes, in list order
  for_each_state_field(st, [&](const char*, const auto& x) {
    for (const char byte : raw_bytes(x)) h = (h ^ static_cast<unsigned char>(byte)) * 1099511628211ull;
  });
  return h;
}

std::uint64_t state_array_bytes(const State& st) {
  std::uint64_t total = 0;
  for_each_state_field(st, [&](const char*, const auto& x) {
    if constexpr (IsVector<std::decay_t<decltype(x)>>::value) total += raw_bytes(x).size();
  });
  return total;
}

}  // namespace policysim
