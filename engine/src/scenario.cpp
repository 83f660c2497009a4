// Scenario files: reading, `--set`, policy assignments and printing, all as visitors over the
// `fields()` lists in scenario.hpp.
#include "policysim/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <span>
#include <cctype>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "policysim/errors.hpp"

namespace policysim {
namespace {

template <class T>
concept HasFields = requires(T& t) { t.fields([](auto&&...) {}); };
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

std::string location(const toml::source_region& where) {
  if (!where.path) return "<unknown>";
  if (where.path->rfind("--set", 0) == 0) return *where.path;
  if (where.begin.line == 0) return *where.path;
  return fmt::format("{}:{}:{}", *where.path, where.begin.line, where.begin.column);
}

[[noreturn]] void fail(const toml::source_region& where, std::string_view key,
                       std::string_view what) {
  throw InputError(fmt::format("{}: {}: {}", location(where), key, what));
}

std::string join(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1u : 0u)});
      diag = up;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for the closest known key, or "" when none is close.
std::string suggestion(std::string_view key, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, key.size() / 3) + 1;
  for (const auto& k : known) {
    const std::size_t d = edit_distance(key, k);
    if (d < best_d) best_d = d, best = k;
  }
  return best.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", best);
}

[[noreturn]] void fail_unknown(const toml::source_region& where, const std::string& path,
                               std::string_view key, const std::vector<std::string>& known) {
  fail(where, path,
       fmt::format("unknown key '{}'{}; known keys here: {}", key, suggestion(key, known),
                   fmt::join(known, ", ")));
}

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date or time";
  }
}

void check_range(double x, const Check& c, const toml::source_region& where,
                 const std::string& path) {
  const bool ok = std::isfinite(x) && (c.lo_open ? x > c.lo : x >= c.lo) &&
                  (c.hi_open ? x < c.hi : x <= c.hi);
  if (!ok)
    fail(where, path, fmt::format("{} is out of range: must be {}", x,
                                  c.allowed.empty() ? std::string_view("a finite number") : c.allowed));
}

// Assigns one leaf value from a TOML node, checking its type and range.
void assign_value(double& x, const toml::node& n, const Check& c, const toml::source_region& w,
                  const std::string& path) {
  if (auto v = n.as_floating_point()) x = v->get();
  else if (auto i = n.as_integer()) x = static_cast<double>(i->get());
  else fail(w, path, fmt::format("expected a number, got {}", type_name(n)));
  check_range(x, c, w, path);
}
void assign_value(std::int64_t& x, const toml::node& n, const Check& c,
                  const toml::source_region& w, const std::string& path) {
  if (auto i = n.as_integer()) x = i->get();
  else fail(w, path, fmt::format("expected an integer, got {}", type_name(n)));
  check_range(static_cast<double>(x), c, w, path);
}
void assign_value(bool& x, const toml::node& n, const Check&, const toml::source_region& w,
                  const std::string& path) {
  if (auto b = n.as_boolean()) x = b->get();
  else fail(w, path, fmt::format("expected true or false, got {}", type_name(n)));
}
void assign_value(std::string& x, const toml::node& n, const Check&, const toml::source_region& w,
                  const std::string& path) {
  if (auto s = n.as_string()) x = s->get();
  else fail(w, path, fmt::format("expected a string, got {}", type_name(n)));
}
template <class E>
  requires std::is_enum_v<E>
void assign_value(E& x, const toml::node& n, const Check&, const toml::source_region& w,
                  const std::string& path) {
  const auto& names = EnumNames<E>::kNames;
  const auto* s = n.as_string();
  const auto it = s ? std::find(names.begin(), names.end(), std::string_view(s->get())) : names.end();
  if (it == names.end())
    fail(w, path,
         fmt::format("{} is not allowed: must be one of {}",
                     s ? fmt::format("'{}'", s->get()) : std::string(type_name(n)),
                     fmt::join(names, ", ")));
  x = static_cast<E>(it - names.begin());
}
void assign_value(Distribution& x, const toml::node& n, const Check&, const toml::source_region& w,
                  const std::string& path) {
  const auto* t = n.as_table();
  if (!t) fail(w, path, fmt::format("expected a table like {{ dist = \"beta\", a = 2.0, b = 5.0 }}, got {}", type_name(n)));
  Distribution d;
  const toml::value<std::string> missing("");
  const toml::node* dist = t->get("dist");
  assign_value(d.kind, dist ? *dist : static_cast<const toml::node&>(missing), kAny, dist ? dist->source() : w,
               path + ".dist");
  const auto names = param_names(d.kind);
  d.param = {0.0, 0.0, 1.0};
  if (d.kind == DistKind::kLognormal) d.param = {0.0, 1.0, 0.0};
  if (d.kind == DistKind::kNormal) d.param = {0.0, 1.0, 0.0};
  std::vector<std::string> known{"dist"};
  for (auto nm : names)
    if (!nm.empty()) known.emplace_back(nm);
  for (const auto& [k, v] : *t) {
    if (k.str() == "dist") continue;
    const auto slot = std::find(names.begin(), names.end(), k.str());
    if (k.str().empty() || slot == names.end()) fail_unknown(v.source(), path, k.str(), known);
    assign_value(d.param[static_cast<std::size_t>(slot - names.begin())], v, kAny, v.source(),
                 join(path, k.str()));
  }
  const auto need = [&](bool ok, std::string_view what) {
    if (!ok) fail(w, path, fmt::format("{} distribution needs {}", enum_name(d.kind), what));
  };
  switch (d.kind) {
    case DistKind::kUniform: need(d.param[0] <= d.param[1], "low <= high"); break;
    case DistKind::kBeta: need(d.param[0] > 0 && d.param[1] > 0 && d.param[2] > 0, "a > 0, b > 0 and scale > 0"); break;
    case DistKind::kLognormal: need(d.param[1] >= 0, "sigma >= 0"); break;
    case DistKind::kNormal: need(d.param[1] >= 0, "sd >= 0"); break;
    case DistKind::kConstant: break;
  }
  x = d;
}
void assign_value(Shareholdings& x, const toml::node& n, const Check&, const toml::source_region& w,
                  const std::string& path) {
  const auto* t = n.as_table();
  if (!t) fail(w, path, fmt::format("expected a table of firm = shareholding, got {}", type_name(n)));
  Shareholdings s;
  for (const auto& [k, v] : *t) {
    double share = 0;
    assign_value(share, v, kProbability, v.source(), join(path, k.str()));
    s.shares.emplace_back(std::string(k.str()), share);
  }
  x = std::move(s);
}
void assign_value(toml::table& x, const toml::node& n, const Check&, const toml::source_region& w,
                  const std::string& path) {
  const auto* t = n.as_table();
  if (!t) fail(w, path, fmt::format("expected a table of \"path\" = value, got {}", type_name(n)));
  x = *t;
}

// Calls `f(key, member, check, mutable)` for each field of `obj`, filling in kAny where a field
// has no range.
template <class T, class F>
void for_each_field(T& obj, F&& f) {
  obj.fields([&](const char* key, auto& member, auto&&... rest) {
    if constexpr (sizeof...(rest) == 2) f(key, member, rest...);
    else f(key, member, kAny, rest...);
  });
}

template <class T>
std::vector<std::string> known_keys(T& obj) {
  std::vector<std::string> keys;
  for_each_field(obj, [&](const char* key, auto&, const Check&, Mutable) { keys.emplace_back(key); });
  return keys;
}

template <class T>
void read_table(T& obj, const toml::table& tbl, const std::string& prefix);

// Reads an array of tables addressed by `name` (`[[sector]]`, `[[firm.service]]`).
template <class T>
void read_array(std::vector<T>& out, const toml::node& n, const std::string& path) {
  const auto* arr = n.as_array();
  if (!arr || !arr->is_array_of_tables())
    fail(n.source(), path, fmt::format("expected an array of tables ([[{}]]), got {}", path, type_name(n)));
  out.clear();
  for (const auto& item : *arr) {
    const auto& tbl = *item.as_table();
    T elem{};
    if constexpr (requires { elem.name; }) {
      const auto* name = tbl.get("name");
      if (!name || !name->is_string() || name->as_string()->get().empty())
        fail(tbl.source(), path, "each entry needs a non-empty string `name`");
      const std::string& nm = name->as_string()->get();
      if (nm.find('.') != std::string::npos)
        fail(name->source(), path + ".name", fmt::format("'{}' may not contain '.'", nm));
      for (const auto& other : out)
        if (other.name == nm) fail(name->source(), path + ".name", fmt::format("'{}' is defined twice", nm));
      read_table(elem, tbl, join(path, nm));
    } else {
      read_table(elem, tbl, fmt::format("{}[{}]", path, out.size()));
    }
    out.push_back(std::move(elem));
  }
}

// Reads every key of `tbl` into `obj`; keys not in `obj.fields()` are errors.
template <class T>
void read_table(T& obj, const toml::table& tbl, const std::string& prefix) {
  for (const auto& entry : tbl) {
    // not a structured binding: clang before 16 cannot capture one in the lambda below
    const auto& key = entry.first;
    const auto& node = entry.second;
    bool found = false;
    for_each_field(obj, [&](const char* k, auto& member, const Check& check, Mutable) {
      if (found || key.str() != k) return;
      found = true;
      using M = std::decay_t<decltype(member)>;
      const std::string path = join(prefix, k);
      if constexpr (HasFields<M>) {
        const auto* sub = node.as_table();
        if (!sub) fail(node.source(), path, fmt::format("expected a table, got {}", type_name(node)));
        read_table(member, *sub, path);
      } else if constexpr (IsVector<M>::value) {
        read_array(member, node, path);
      } else {
        assign_value(member, node, check, node.source(), path);
      }
    });
    if (!found) fail_unknown(node.source(), prefix.empty() ? "scenario file" : prefix, key.str(), known_keys(obj));
  }
}

// Sets the field at `parts` below `obj`.
template <class T>
void assign_in(T& obj, std::span<const std::string> parts, const std::string& prefix,
               const toml::node& value, const toml::source_region& where, bool runtime) {
  bool found = false;
  for_each_field(obj, [&](const char* k, auto& member, const Check& check, Mutable mut) {
    if (found || parts.front() != k) return;
    found = true;
    using M = std::decay_t<decltype(member)>;
    const std::string path = join(prefix, k);
    if (runtime && mut == Mutable::kNo)
      fail(where, join(prefix, fmt::format("{}", fmt::join(parts, "."))),
           "cannot be changed by a [[policy]] event (it is fixed when the run starts)");
    if constexpr (HasFields<M>) {
      if (parts.size() == 1) fail(where, path, "is a table: name a key inside it");
      assign_in(member, parts.subspan(1), path, value, where, runtime);
    } else if constexpr (IsVector<M>::value) {
      if constexpr (requires { member.front().name; }) {
        if (parts.size() < 3) fail(where, path, fmt::format("address an entry as {}.NAME.KEY", path));
        std::vector<std::string> names;
        for (auto& elem : member) {
          if (elem.name == parts[1]) return assign_in(elem, parts.subspan(2), join(path, parts[1]), value, where, runtime);
          names.push_back(elem.name);
        }
        fail(where, path, fmt::format("no entry named '{}'{}; entries: {}", parts[1],
                                      suggestion(parts[1], names), fmt::join(names, ", ")));
      } else {
        fail(where, path, "cannot be set from the command line");
      }
    } else {
      if (parts.size() != 1) fail(where, path, "is a single value, not a table");
      assign_value(member, value, check, where, path);
    }
  });
  if (!found) fail_unknown(where, prefix.empty() ? "path" : prefix, parts.front(), known_keys(obj));
}

std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += fmt::format("\\u{:04x}", c);
        else out += c;
    }
  }
  return out + "\"";
}

std::string toml_key(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? std::string(key) : toml_string(key);
}

// Shortest text that reads back to the same double, always with a '.' or exponent.
std::string toml_number(double x) {
  std::string t = fmt::format("{}", x);
  if (t.find_first_of(".eEn") == std::string::npos) t += ".0";
  return t;
}

std::string toml_value(double x) { return toml_number(x); }
std::string toml_value(std::int64_t x) { return std::to_string(x); }
std::string toml_value(bool x) { return x ? "true" : "false"; }
std::string toml_value(const std::string& x) { return toml_string(x); }
template <class E>
  requires std::is_enum_v<E>
std::string toml_value(E x) { return toml_string(enum_name(x)); }
std::string toml_value(const Distribution& d) {
  std::string out = "{ dist = " + toml_string(enum_name(d.kind));
  const auto names = param_names(d.kind);
  for (std::size_t i = 0; i < names.size(); ++i)
    if (!names[i].empty()) out += fmt::format(", {} = {}", names[i], toml_number(d.param[i]));
  return out + " }";
}
std::string toml_value(const Shareholdings& s) {
  std::vector<std::string> items;
  for (const auto& [firm, share] : s.shares) items.push_back(fmt::format("{} = {}", toml_key(firm), toml_number(share)));
  return items.empty() ? "{}" : fmt::format("{{ {} }}", fmt::join(items, ", "));
}
std::string toml_value(const toml::table& t) {
  std::vector<std::string> items;
  for (const auto& [k, v] : t) {
    std::ostringstream text;
    if (const auto* d = v.as_floating_point()) text << toml_number(d->get());
    else if (const auto* str = v.as_string()) text << toml_string(str->get());
    else if (const auto* sub = v.as_table()) text << toml_value(*sub);
    else v.visit([&](const auto& node) { text << node; });
    items.push_back(fmt::format("{} = {}", toml_key(k.str()), text.str()));
  }
  return items.empty() ? "{}" : fmt::format("{{ {} }}", fmt::join(items, ", "));
}

// TOML text for `obj` under the table header `prefix`: its plain keys, then its sub-tables
// and arrays of tables, in the order of `fields()`.
template <class T>
void write_text(T& obj, const std::string& prefix, std::string& out) {
  for_each_field(obj, [&](const char* k, auto& member, const Check&, Mutable) {
    using M = std::decay_t<decltype(member)>;
    if constexpr (!HasFields<M> && !IsVector<M>::value) out += fmt::format("{} = {}\n", k, toml_value(member));
  });
  for_each_field(obj, [&](const char* k, auto& member, const Check&, Mutable) {
    using M = std::decay_t<decltype(member)>;
    const std::string path = join(prefix, k);
    if constexpr (HasFields<M>) {
      out += fmt::format("\n[{}]\n", path);
      write_text(member, path, out);
    } else if constexpr (IsVector<M>::value) {
      for (auto& elem : member) {
        out += fmt::format("\n[[{}]]\n", path);
        write_text(elem, path, out);
      }
    }
  });
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

// Parses `--set PATH=VALUE`'s VALUE as TOML; a bare word is a string.
toml::table parse_override_value(const Override& o) {
  const std::string where = fmt::format("--set {}={}", o.path, o.value);
  try {
    return toml::parse("v = " + o.value, where);
  } catch (const toml::parse_error&) {
    const bool bare = !o.value.empty() &&
                      std::all_of(o.value.begin(), o.value.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                      });
    if (!bare) throw InputError(fmt::format("{}: {}: cannot read the value as TOML", where, o.path));
    toml::table t;
    t.insert("v", o.value);
    return t;
  }
}

toml::source_region file_region(const std::string& file) {
  toml::source_region r{};
  r.path = std::make_shared<const std::string>(file);
  return r;
}

// Where the key at a dotted path was written, for the cross-key checks: the last `--set` of it
// or of a table above it, else its node in the file (array entries by name; the closest
// enclosing node when the key itself is absent), else just the file.
toml::source_region origin(std::string_view path, const std::string& source, const toml::table* file,
                           std::span<const Override> overrides) {
  for (auto o = overrides.rbegin(); o != overrides.rend(); ++o)
    if (path == o->path || (path.starts_with(o->path) && path[o->path.size()] == '.'))
      return file_region(fmt::format("--set {}={}", o->path, o->value));
  toml::source_region where = file_region(source);
  const toml::node* node = file;
  for (const auto& part : split_path(path)) {
    const toml::node* next = nullptr;
    if (const auto* t = node ? node->as_table() : nullptr) next = t->get(part);
    else if (const auto* a = node ? node->as_array() : nullptr)
      for (const auto& item : *a)
        if (const auto* e = item.as_table(); e && (*e)["name"].value<std::string>() == part) next = &item;
    if (!next) break;
    where = next->source();
    node = next;
  }
  return where;
}

// check_scenario, with the messages located by `origin`.
void check_cross_keys(const Scenario& s, const toml::table* file, std::span<const Override> overrides);

}  // namespace

std::array<std::string_view, 3> param_names(DistKind kind) {
  switch (kind) {
    case DistKind::kConstant: return {"value", "", ""};
    case DistKind::kUniform: return {"low", "high", ""};
    case DistKind::kBeta: return {"a", "b", "scale"};
    case DistKind::kLognormal: return {"mu", "sigma", ""};
    case DistKind::kNormal: return {"mean", "sd", ""};
  }
  return {"", "", ""};
}

void assign_path(Scenario& s, std::string_view path, const toml::node& value,
                 const toml::source_region& where, bool runtime) {
  const auto parts = split_path(path);
  if (std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); }))
    fail(where, std::string(path), "is not a dotted path like regulator.consent");
  assign_in(s, std::span<const std::string>(parts), "", value, where, runtime);
}

void check_scenario(const Scenario& s) { check_cross_keys(s, nullptr, {}); }

namespace {
void check_cross_keys(const Scenario& s, const toml::table* file, std::span<const Override> overrides) {
  const auto fail_at = [&](const std::string& key, const std::string& what) {
    fail(origin(key, s.source, file, overrides), key, what);
  };
  if (s.scenario.name.empty()) fail_at("scenario.name", "is required ([scenario] name = \"...\")");
  if (s.sectors.empty()) fail_at("sector", "at least one [[sector]] is required");
  if (s.firms.empty()) fail_at("firm", "at least one [[firm]] is required");
  if (s.network.kind != NetworkKind::kNone) {
    if (s.network.degree % 2 != 0) fail_at("network.degree", fmt::format("{} must be even", s.network.degree));
    if (s.network.degree >= s.consumers.count)
      fail_at("network.degree", fmt::format("{} must be below consumers.count ({})", s.network.degree, s.consumers.count));
  }
  std::set<std::string> sector_names;
  for (const auto& sec : s.sectors) sector_names.insert(sec.name);
  std::map<std::string, double> initial_share;
  std::set<std::string> services, firms;
  for (const auto& f : s.firms) {
    firms.insert(f.name);
    if (f.services.empty()) fail_at("firm." + f.name, "needs at least one [[firm.service]]");
    for (const auto& svc : f.services) {
      const std::string path = fmt::format("firm.{}.service.{}", f.name, svc.name);
      if (!services.insert(svc.name).second)
        fail_at(path, fmt::format("service name '{}' is used twice (service names are unique)", svc.name));
      if (!sector_names.contains(svc.sector))
        fail_at(path + ".sector",
                fmt::format("no sector named '{}'{}; sectors: {}", svc.sector,
                            suggestion(svc.sector, {sector_names.begin(), sector_names.end()}),
                            fmt::join(sector_names, ", ")));
      if (f.enter_at > 0 && svc.initial_share > 0)
        fail_at(path + ".initial_share", "must be 0 for a firm that enters later (enter_at > 0)");
      initial_share[svc.sector] += svc.initial_share;
    }
  }
  std::map<std::string, int> sector_services;
  for (const auto& f : s.firms)
    for (const auto& svc : f.services)
      if (++sector_services[svc.sector] == 256)
        fail_at("sector." + svc.sector, "at most 255 services per sector (a consumer's choice is one byte)");
  for (const auto& [sector, total] : initial_share)
    if (total > 1.0 + 1e-12)
      fail_at("sector." + sector, fmt::format("initial_share of its services sums to {} > 1", total));
  double held = s.jv.state_share;
  for (const auto& [firm, share] : s.jv.members.shares) {
    if (!firms.contains(firm))
      fail_at("jv.members." + firm,
              fmt::format("no firm named '{}'{}; firms: {}", firm, suggestion(firm, {firms.begin(), firms.end()}),
                          fmt::join(firms, ", ")));
    held += share;
  }
  if (held > 1.0 + 1e-12)
    fail_at("jv.members", fmt::format("shareholdings plus state_share sum to {} > 1", held));
}
}  // namespace

Scenario parse_scenario(std::string_view text, const std::string& source,
                        const std::vector<Override>& overrides) {
  toml::table tbl;
  try {
    tbl = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw InputError(fmt::format("{}: malformed TOML: {}", location(e.source()), e.description()));
  }
  Scenario s;
  s.source = source;
  read_table(s, tbl, "");
  if (s.sectors.size() > 255) fail(file_region(source), "sector", "at most 255 sectors");
  for (auto& f : s.firms)
    for (auto& svc : f.services)
      if (svc.sector.empty() && !s.sectors.empty()) svc.sector = s.sectors.front().name;
  // Policy events are checked against the steps written in the file: each assignment must
  // name a runtime-mutable key with a valid value.
  // The parsed nodes are used, not `ev.set`: a copied toml node does not keep its source position.
  for (std::size_t i = 0; i < s.policies.size(); ++i) {
    const auto& ev = s.policies[i];
    const auto entry = tbl["policy"][i];
    if (ev.at >= s.scenario.steps)
      fail(entry["at"] ? entry["at"].node()->source() : file_region(source), "policy.at",
           fmt::format("{} is past the run: must be below scenario.steps ({})", ev.at, s.scenario.steps));
    Scenario probe = s;
    if (const auto* set = entry["set"].as_table())
      for (const auto& [path, value] : *set) assign_path(probe, path.str(), value, value.source(), true);
  }
  for (const auto& o : overrides) {
    const auto t = parse_override_value(o);
    assign_path(s, o.path, *t.get("v"), file_region(fmt::format("--set {}={}", o.path, o.value)), false);
  }
  check_cross_keys(s, &tbl, overrides);
  // Every phase of the policy timeline must pass the same checks (e.g. shareholdings a
  // policy raises); errors name the event that breaks them.
  std::vector<std::size_t> order(s.policies.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return s.policies[a].at < s.policies[b].at; });
  Scenario phase = s;
  for (const std::size_t i : order) {
    const auto entry = tbl["policy"][i];
    const auto* set = entry["set"].as_table();
    if (!set) continue;
    for (const auto& [path, value] : *set) assign_path(phase, path.str(), value, value.source(), true);
    try {
      check_cross_keys(phase, &tbl, overrides);
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}: [[policy]] at = {} makes the scenario invalid: {}", location(set->source()),
                                   s.policies[i].at, e.what()));
    }
  }
  return s;
}

Scenario load_scenario(const std::string& path, const std::vector<Override>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the scenario file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path, overrides);
}

toml::table to_toml(const Scenario& s) {
  return toml::parse(to_toml_text(s), s.source);  // one printer: the text reads back exactly
}

std::string to_toml_text(const Scenario& s) {
  std::string out;
  write_text(const_cast<Scenario&>(s), "", out);
  return out.substr(out.find_first_not_of('\n'));
}

}  // namespace policysim
