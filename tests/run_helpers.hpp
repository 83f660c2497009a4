// Helpers for the tests of whole runs: a scenario that exercises every part of the state, file
// comparison, and the policysim binary as a child process that a test can send signals to.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "helpers.hpp"
#include "policysim/output.hpp"

namespace policysim::test {

// Two sectors, an ecosystem firm, a late entrant, a licensed JV with fees and mandatory sharing
// under opt-in consent, portability, breaches, antitrust with remedies and a policy event: a
// state in which every array moves.
inline const char* kRich = R"(
[scenario]
name = "rich"
steps = 60
seed = 7
[consumers]
count = 3000
peer_weight = 0.5
[network]
degree = 6
rewire = 0.2
[[sector]]
name = "ecommerce"
[[sector]]
name = "payments"
[[firm]]
name = "A"
  [[firm.service]]
  name = "a1"
  sector = "ecommerce"
  initial_share = 0.4
  initial_data = 2.0
  [[firm.service]]
  name = "a2"
  sector = "payments"
  initial_share = 0.5
[[firm]]
name = "B"
  [[firm.service]]
  name = "b1"
  sector = "ecommerce"
  initial_share = 0.3
[[firm]]
name = "C"
  [[firm.service]]
  name = "c1"
  sector = "payments"
  initial_share = 0.3
[[firm]]
name = "D"
enter_at = 20
  [[firm.service]]
  name = "d1"
  sector = "ecommerce"
[jv]
enabled = true
access = "licensed"
access_fee = 0.05
members = { A = 0.08, B = 0.08, C = 0.08 }
[regulator]
consent = "opt_in"
sharing_mandate = 0.3
mandate_scope = "all"
compliance_cost = 0.01
portability = 0.2
[regulator.antitrust]
enabled = true
share_threshold = 0.4
persistence = 3
cooldown = 10
remedy_mandate = 0.5
[regulator.breach]
base_rate = 0.05
[[policy]]
at = 30
set = { "regulator.consent" = "opt_out", "jv.access_fee" = 0.08 }
)";

// The CSV files of a run directory (and of its rep-NNN/ directories), path relative to `dir`.
inline std::vector<std::filesystem::path> csv_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".csv") files.push_back(std::filesystem::relative(e.path(), dir));
  std::sort(files.begin(), files.end());
  return files;
}

// Every CSV of `expected` exists in `actual` with the same bytes, and no other CSV is there.
inline void check_same_csvs(const std::filesystem::path& expected, const std::filesystem::path& actual) {
  const auto files = csv_files(expected);
  REQUIRE(!files.empty());
  CHECK(csv_files(actual) == files);
  for (const auto& f : files) {
    CAPTURE(f.string());
    CHECK(read_text(actual / f) == read_text(expected / f));
  }
}

// Files under `dir` whose name is a final name: not a hidden .part file.
inline std::vector<std::string> final_files(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  if (!std::filesystem::exists(dir)) return names;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string().rfind('.', 0) != 0)
      names.push_back(std::filesystem::relative(e.path(), dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

// The policysim binary as a child process, output to a log file.
class CliProcess {
 public:
  CliProcess(const std::vector<std::string>& args, const std::filesystem::path& log) : log_(log) {
    std::vector<std::string> words{POLICYSIM_BINARY};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    const std::string log_path = log.string();
    pid_ = ::fork();
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    REQUIRE(pid_ > 0);
  }
  ~CliProcess() {
    if (status_ < 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  // Polls until `path` exists, or the process ended; true in the first case.
  bool wait_for(const std::filesystem::path& path) {
    while (!std::filesystem::exists(path)) {
      if (status_ >= 0 || ::waitpid(pid_, &raw_, WNOHANG) == pid_) {
        status_ = decode(raw_);
        return std::filesystem::exists(path);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // The exit code, or 128 + the signal that ended it, like a shell.
  int wait() {
    if (status_ < 0) {
      ::waitpid(pid_, &raw_, 0);
      status_ = decode(raw_);
    }
    return status_;
  }
  std::string output() const { return read_text(log_); }

 private:
  static int decode(int raw) { return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw); }
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int raw_ = 0;
  int status_ = -1;
};

}  // namespace policysim::test
