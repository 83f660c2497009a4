// Stop requests from SIGINT and SIGTERM, as one process-wide flag that long work polls at safe
// points (`run` at the end of each step). Reusable by anything that runs many steps or many
// runs: install the handlers once, poll stop_requested(), and report stop_signal() in the exit
// code (128 + signal, the shell's convention: 130 for SIGINT, 143 for SIGTERM).
#pragma once

namespace policysim {

// Installs the handlers for SIGINT and SIGTERM for the object's lifetime and restores the
// previous ones after. The first signal sets the flag; a second one ends the process at once
// with the default action (the last checkpoint written is still good).
class StopHandlers {
 public:
  StopHandlers();
  ~StopHandlers();
  StopHandlers(const StopHandlers&) = delete;
  StopHandlers& operator=(const StopHandlers&) = delete;
};

// Whether a stop was requested (by a signal or request_stop()).
bool stop_requested();
// The signal that requested the stop (SIGINT or SIGTERM), 0 if none.
int stop_signal();
// Requests a stop as if `signal` had arrived (tests, and callers with their own reasons).
void request_stop(int signal);
// Clears the flag (before a new run, or in tests).
void clear_stop();

}  // namespace policysim
