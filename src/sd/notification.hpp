#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corral::sd {

// One datagram of the sd_notify(3) protocol, as a program sends it to $NOTIFY_SOCKET:
// newline-separated VARIABLE=VALUE assignments. corral reads it the way systemd does
// for a service, for each app worker.
struct Notification {
  bool ready = false;             // READY=1
  bool stopping = false;          // STOPPING=1
  bool reloading = false;         // RELOADING=1
  bool watchdog = false;          // WATCHDOG=1
  bool watchdog_trigger = false;  // WATCHDOG=trigger: treat as hung now
  std::optional<std::string> status;  // STATUS=...
  std::optional<int> error_number;    // ERRNO=...
  // Assignments corral does not act on for a worker (MAINPID=, EXTEND_TIMEOUT_USEC=,
  // FDSTORE=1, ...), by name, to be logged once; and lines that are not assignments.
  std::vector<std::string> ignored;
  std::vector<std::string> malformed;
};

Notification parse_notification(std::string_view datagram);

}  // namespace corral::sd
