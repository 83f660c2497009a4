#include "policysim/output.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "policysim/errors.hpp"

namespace policysim {

AtomicFile::AtomicFile(fs::path path) : path_(std::move(path)) {
  temp_ = path_.parent_path() / ("." + path_.filename().string() + ".part");
  file_ = std::fopen(temp_.c_str(), "wb");
  if (!file_) throw IoError(fmt::format("{}: cannot write: {}", temp_.string(), std::strerror(errno)));
}

AtomicFile::~AtomicFile() {
  if (file_) {
    std::fclose(file_);
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicFile::write(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size())
    throw IoError(fmt::format("{}: write failed: {}", temp_.string(), std::strerror(errno)));
}

void AtomicFile::commit() {
  const bool flushed = std::fflush(file_) == 0 && !std::ferror(file_);
  const int err = errno;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  std::error_code ec;
  if (!flushed || !closed) {
    fs::remove(temp_, ec);
    throw IoError(fmt::format("{}: write failed: {}", path_.string(), std::strerror(err)));
  }
  fs::rename(temp_, path_, ec);
  if (ec) {
    fs::remove(temp_, ec);
    throw IoError(fmt::format("{}: cannot rename into place: {}", path_.string(), ec.message()));
  }
}

void write_file_atomic(const fs::path& path, std::string_view text) {
  AtomicFile f(path);
  f.write(text);
  f.commit();
}

std::string csv_number(double x) {
  if (x == static_cast<double>(static_cast<long long>(x)) && std::abs(x) < 1e15)
    return fmt::format("{}", static_cast<long long>(x));
  return fmt::format("{}", x);
}

std::string csv_line(const std::vector<std::string>& cells) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) line += ',';
    const bool quote = cells[i].find_first_of(",\"\n") != std::string::npos;
    if (!quote) {
      line += cells[i];
      continue;
    }
    line += '"';
    for (char c : cells[i]) line += c == '"' ? std::string("\"\"") : std::string(1, c);
    line += '"';
  }
  return line + '\n';
}

namespace {

std::string row(std::initializer_list<std::string> head, std::initializer_list<double> numbers) {
  std::vector<std::string> cells(head);
  for (double x : numbers) cells.push_back(csv_number(x));
  return csv_line(cells);
}

}  // namespace

RunWriter::RunWriter(const fs::path& dir, const Model&)
    : metrics_(dir / "metrics.csv"), sectors_(dir / "sectors.csv"), services_(dir / "services.csv"),
      firms_(dir / "firms.csv") {
  metrics_.write(csv_line({kMetricColumns.begin(), kMetricColumns.end()}));
  sectors_.write("step,sector,users,hhi,top_share,active_services,mean_price,mean_cs\n");
  services_.write("step,service,firm,sector,users,share,sector_share,price,quality,data,contribution_rate\n");
  firms_.write("step,firm,revenue,profit,fines,dividends,fees,data,innovation_capital,jv_contribution\n");
}

void RunWriter::write_step(const Model& m, const State& st, const MetricsRow& metrics) {
  const auto& sc = m.scenario;
  const std::string step = fmt::format("{}", st.step - 1);
  std::vector<std::string> cells;
  for (double x : metrics) cells.push_back(csv_number(x));
  metrics_.write(csv_line(cells));
  std::string text;
  for (int s = 0; s < m.sectors; ++s) {
    const SectorRow r = sector_row(m, st, s);
    text += row({step, sc.sectors[s].name}, {r.users, r.hhi, r.top_share, r.active_services, r.mean_price, r.mean_cs});
  }
  sectors_.write(text);
  text.clear();
  const auto& sv = st.services;
  for (int k = 0; k < m.services; ++k)
    text += row({step, m.service(sc, k).name, m.firm_of(sc, k).name, m.sector_of(sc, k).name},
                {sv.users[k], sv.share[k], sv.sector_share[k], sv.price[k], sv.quality[k], sv.data[k],
                 st.firms.contribution_rate[m.service_firm[k]]});
  services_.write(text);
  text.clear();
  const auto& fm = st.firms;
  for (int f = 0; f < m.firms; ++f) {
    double data = 0;
    for (int k : m.firm_services[f]) data += sv.data[k];
    text += row({step, sc.firms[f].name}, {fm.revenue[f], fm.profit[f], fm.fines[f], fm.dividends[f], fm.fees[f],
                                           data, fm.innovation[f], fm.jv_contribution[f]});
  }
  firms_.write(text);
}

void RunWriter::commit() {
  metrics_.commit();
  sectors_.commit();
  services_.commit();
  firms_.commit();
}

std::string sha256_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot read", path.string()));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) EVP_DigestUpdate(ctx, buf, static_cast<std::size_t>(in.gcount()));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

nlohmann::json scenario_json(const Scenario& scenario) {
  std::ostringstream text;
  text << toml::json_formatter{to_toml(scenario)};
  return nlohmann::json::parse(text.str());
}

bool non_empty_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && !fs::is_empty(dir, ec);
}

}  // namespace policysim
