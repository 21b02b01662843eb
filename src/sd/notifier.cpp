#include "sd/notifier.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace corral::sd {

void Notifier::ready(std::string_view status) {
  last_status_ = status;
  send(fmt::format("READY=1\nSTATUS={}", status));
}

void Notifier::reloading(std::string_view status) {
  last_status_ = status;
  send(fmt::format("RELOADING=1\nSTATUS={}", status));
}

void Notifier::status(std::string_view status) {
  if (status == last_status_) return;
  last_status_ = status;
  send(fmt::format("STATUS={}", status));
}

void Notifier::stopping(std::string_view status, std::chrono::microseconds extend_timeout) {
  last_status_ = status;
  send(fmt::format("STOPPING=1\nSTATUS={}\nEXTEND_TIMEOUT_USEC={}", status, extend_timeout.count()));
}

void Notifier::failed(std::string_view status, int error) {
  last_status_ = status;
  send(fmt::format("STATUS={}\nERRNO={}", status, error));
}

void Notifier::watchdog() {
  send("WATCHDOG=1");
}

std::chrono::microseconds Notifier::watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec);
}

void Notifier::send(const std::string& state) {
  // A lost notification must not stop the service: log it and go on.
  if (const int rc = sd_notify(0, state.c_str()); rc < 0) {
    spdlog::warn("sd_notify() failed while sending '{}': {}", state, std::strerror(-rc));
  }
}

}  // namespace corral::sd
