#include "policysim/interrupt.hpp"

#include <atomic>
#include <csignal>

namespace policysim {
namespace {

// Lock-free atomics are safe to touch from a signal handler.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

struct sigaction g_previous_int {}, g_previous_term{};

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, sig)) {
    // second signal: give up on a clean stop
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

}  // namespace

StopHandlers::StopHandlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // interrupted reads and writes resume; the flag is polled
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

StopHandlers::~StopHandlers() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

bool stop_requested() { return g_signal.load(std::memory_order_relaxed) != 0; }
int stop_signal() { return g_signal.load(std::memory_order_relaxed); }
void request_stop(int signal) { g_signal.store(signal, std::memory_order_relaxed); }
void clear_stop() { g_signal.store(0, std::memory_order_relaxed); }

}  // namespace policysim
