#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace corral::sd {

// The supervisor's messages to systemd (sd_notify). Without $NOTIFY_SOCKET every call
// does nothing, so the same code runs under systemd, systemd-socket-activate and a shell.
class Notifier {
 public:
  void ready(std::string_view status);
  void reloading(std::string_view status);
  void status(std::string_view status);
  void stopping(std::string_view status, std::chrono::microseconds extend_timeout);
  void failed(std::string_view status, int error);
  void watchdog();

  // The watchdog interval systemd asks for this process (WatchdogSec=), or zero.
  static std::chrono::microseconds watchdog_interval();

 private:
  void send(const std::string& state);
  std::string last_status_;
};

}  // namespace corral::sd
