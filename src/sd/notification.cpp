#include "sd/notification.hpp"

#include <charconv>

namespace corral::sd {

Notification parse_notification(std::string_view datagram) {
  Notification out;
  while (!datagram.empty()) {
    const auto end = datagram.find('\n');
    const auto line = datagram.substr(0, end);
    datagram = end == std::string_view::npos ? std::string_view{} : datagram.substr(end + 1);
    if (line.empty()) continue;
    const auto equals = line.find('=');
    if (equals == std::string_view::npos || equals == 0) {
      out.malformed.emplace_back(line.substr(0, 64));
      continue;
    }
    const auto name = line.substr(0, equals);
    const auto value = line.substr(equals + 1);
    if (name == "READY") {
      out.ready = value == "1";
    } else if (name == "STOPPING") {
      out.stopping = value == "1";
    } else if (name == "RELOADING") {
      out.reloading = value == "1";
    } else if (name == "WATCHDOG") {
      out.watchdog = value == "1";
      out.watchdog_trigger = value == "trigger";
    } else if (name == "STATUS") {
      out.status = std::string(value);
    } else if (name == "ERRNO") {
      int number = 0;
      const auto [rest, error] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (error == std::errc{} && rest == value.data() + value.size()) {
        out.error_number = number;
      } else {
        out.malformed.emplace_back(line.substr(0, 64));
      }
    } else if (name == "BARRIER" || name == "MONOTONIC_USEC") {
      // BARRIER=1 (systemd-notify waits for its fd to be closed, which receiving does)
      // and the time that comes with RELOADING=1: nothing to do, nothing to say.
    } else {
      // MAINPID=, EXTEND_TIMEOUT_USEC=, WATCHDOG_USEC=, FDSTORE=1, BUSERROR=, custom
      // X_ variables...: meaningful to systemd for a whole service, not for one worker.
      out.ignored.emplace_back(name.substr(0, 64));
    }
  }
  return out;
}

}  // namespace corral::sd
