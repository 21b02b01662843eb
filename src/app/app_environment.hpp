#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"

namespace corral::app {

// What one app worker is told about itself.
struct AppWorker {
  unsigned slot = 0;
  std::uint32_t generation = 0;
  unsigned listen_fd_count = 0;  // fd 3 onwards
  std::string notify_socket;     // $NOTIFY_SOCKET
  std::optional<std::chrono::microseconds> watchdog;  // $WATCHDOG_USEC: hang detection is on
};

// The environment of an app worker (NAME=value): corral's own (`inherited`), without
// what systemd told corral itself (LISTEN_*, NOTIFY_SOCKET, WATCHDOG_*), with the
// [app] environment on top, and the worker's own LISTEN_FDS, LISTEN_FDNAMES,
// NOTIFY_SOCKET, WATCHDOG_USEC, CORRAL_WORKER_SLOT and CORRAL_WORKER_GENERATION.
// LISTEN_PID and WATCHDOG_PID are the child's own pid, so the launcher sets them.
std::vector<std::string> app_environment(const AppSettings& app, const AppWorker& worker,
                                         const std::vector<std::string>& inherited);

// corral's own environment, as NAME=value.
std::vector<std::string> current_environment();

}  // namespace corral::app
