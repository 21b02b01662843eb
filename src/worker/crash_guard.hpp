#pragma once

#include <cstdint>

namespace corral {

// On SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT the worker's state is suspect and it
// cannot drain: the handler only sends a suicide notice, built here in advance, on the
// channel (send(2) is async-signal-safe) so that the supervisor starts the replacement
// at once, then re-raises the signal to die with it (and dump core if enabled).
void install_crash_guard(int channel_fd, unsigned slot, std::uint32_t generation);

// The requests this worker has handled, copied into the notice by the handler (a plain
// store is all a signal handler may rely on), so the supervisor can tell a worker that
// served and crashed from one that never started.
void crash_guard_count_request();

}  // namespace corral
