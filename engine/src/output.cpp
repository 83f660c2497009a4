#include "policysim/output.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "policysim/errors.hpp"

namespace policysim {

namespace {

FileOpener g_opener = nullptr;

fs::path temp_for(const fs::path& path) { return path.parent_path() / ("." + path.filename().string() + ".part"); }

// fsync of a directory, so that a rename in it survives a crash; best effort.
void sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void set_file_opener_for_testing(FileOpener opener) { g_opener = opener; }

void AtomicFile::open(const char* mode) {
  file_ = g_opener ? g_opener(temp_.c_str(), mode) : std::fopen(temp_.c_str(), mode);
  if (!file_) {
    const int err = errno;
    throw IoError(fmt::format("{}: cannot write: {}", temp_.string(), std::strerror(err)));
  }
}

AtomicFile::AtomicFile(fs::path path) : path_(std::move(path)), temp_(temp_for(path_)) { open("wb"); }

AtomicFile::AtomicFile(fs::path path, std::uint64_t length) : path_(std::move(path)), temp_(temp_for(path_)) {
  std::error_code ec;
  const auto size = fs::file_size(temp_, ec);
  if (ec)
    throw InputError(fmt::format("{}: cannot resume: the partial output file is missing ({})", temp_.string(),
                                 ec.message()));
  if (size < length)
    throw InputError(fmt::format("{}: cannot resume: the partial output file has {} bytes, the checkpoint "
                                 "records {}", temp_.string(), size, length));
  fs::resize_file(temp_, length, ec);
  if (ec) throw IoError(fmt::format("{}: cannot truncate: {}", temp_.string(), ec.message()));
  open("ab");
  bytes_ = length;
}

AtomicFile::~AtomicFile() {
  if (file_) {
    std::fclose(file_);
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicFile::write(std::string_view text) { write_bytes(text.data(), text.size()); }

void AtomicFile::write_bytes(const void* data, std::size_t size) {
  if (size == 0) return;  // an empty array's data() may be null, which fwrite must not get
  if (std::fwrite(data, 1, size, file_) != size) {
    const int err = errno;
    throw IoError(fmt::format("{}: write failed: {}", temp_.string(), std::strerror(err)));
  }
  bytes_ += size;
}

namespace {

// fflush, then fsync; 0 or the errno of the first failure. EINVAL from fsync means a file
// that cannot be synced (a device): nothing to wait for.
int flush_and_sync(std::FILE* file) {
  if (std::fflush(file) != 0 || std::ferror(file)) return errno ? errno : EIO;
  if (::fsync(::fileno(file)) != 0 && errno != EINVAL) return errno;
  return 0;
}

}  // namespace

void AtomicFile::sync() {
  if (const int err = flush_and_sync(file_))
    throw IoError(fmt::format("{}: write failed: {}", temp_.string(), std::strerror(err)));
}

void AtomicFile::commit() {
  int err = flush_and_sync(file_);
  if (std::fclose(file_) != 0 && !err) err = errno;
  file_ = nullptr;
  std::error_code ec;
  if (err) {
    fs::remove(temp_, ec);
    throw IoError(fmt::format("{}: write failed: {}", path_.string(), std::strerror(err)));
  }
  fs::rename(temp_, path_, ec);
  if (ec) {
    fs::remove(temp_, ec);
    throw IoError(fmt::format("{}: cannot rename into place: {}", path_.string(), ec.message()));
  }
  sync_dir(path_.parent_path());
}

void AtomicFile::keep_partial() noexcept {
  if (!file_) return;
  std::fflush(file_);
  std::fclose(file_);
  file_ = nullptr;
}

void write_file_atomic(const fs::path& path, std::string_view text) {
  AtomicFile f(path);
  f.write(text);
  f.commit();
}

std::string csv_number(double x) {
  if (std::abs(x) < 1e15 && x == std::trunc(x))  // false for NaN and Inf, which print as nan, inf
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

RunWriter::RunWriter(const fs::path& dir, const Model&) {
  for (std::size_t i = 0; i < kRunFiles.size(); ++i) files_[i] = std::make_unique<AtomicFile>(dir / kRunFiles[i]);
  files_[0]->write(csv_line({kMetricColumns.begin(), kMetricColumns.end()}));
  files_[1]->write("step,sector,users,hhi,top_share,active_services,mean_price,mean_cs\n");
  files_[2]->write("step,service,firm,sector,users,share,sector_share,price,quality,data,contribution_rate\n");
  files_[3]->write("step,firm,revenue,profit,fines,dividends,fees,data,innovation_capital,jv_contribution\n");
}

RunWriter::RunWriter(const fs::path& dir, const OutputBytes& bytes) {
  for (std::size_t i = 0; i < kRunFiles.size(); ++i)
    files_[i] = std::make_unique<AtomicFile>(dir / kRunFiles[i], bytes[i]);
}

void RunWriter::write_step(const Model& m, const State& st, const MetricsRow& metrics) {
  const auto& sc = m.scenario;
  const std::string step = fmt::format("{}", st.step - 1);
  std::vector<std::string> cells;
  for (double x : metrics) cells.push_back(csv_number(x));
  files_[0]->write(csv_line(cells));
  std::string text;
  for (int s = 0; s < m.sectors; ++s) {
    const SectorRow r = sector_row(m, st, s);
    text += row({step, sc.sectors[s].name}, {r.users, r.hhi, r.top_share, r.active_services, r.mean_price, r.mean_cs});
  }
  files_[1]->write(text);
  text.clear();
  const auto& sv = st.services;
  for (int k = 0; k < m.services; ++k)
    text += row({step, m.service(sc, k).name, m.firm_of(sc, k).name, m.sector_of(sc, k).name},
                {sv.users[k], sv.share[k], sv.sector_share[k], sv.price[k], sv.quality[k], sv.data[k],
                 st.firms.contribution_rate[m.service_firm[k]]});
  files_[2]->write(text);
  text.clear();
  const auto& fm = st.firms;
  for (int f = 0; f < m.firms; ++f) {
    double data = 0;
    for (int k : m.firm_services[f]) data += sv.data[k];
    text += row({step, sc.firms[f].name}, {fm.revenue[f], fm.profit[f], fm.fines[f], fm.dividends[f], fm.fees[f],
                                           data, fm.innovation[f], fm.jv_contribution[f]});
  }
  files_[3]->write(text);
}

OutputBytes RunWriter::sync() {
  OutputBytes bytes{};
  for (std::size_t i = 0; i < files_.size(); ++i) {
    files_[i]->sync();
    bytes[i] = files_[i]->bytes();
  }
  return bytes;
}

void RunWriter::commit() {
  for (auto& f : files_) f->commit();
}

void RunWriter::keep_partial() noexcept {
  for (auto& f : files_) f->keep_partial();
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

std::string sha256_text(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
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
