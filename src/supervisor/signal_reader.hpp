#pragma once

#include <signal.h>

#include <optional>

#include "common/unique_fd.hpp"

namespace corral {

// The supervisor's signals (SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP), blocked and
// read from a signalfd in its loop, never handled asynchronously. SIGPIPE is ignored.
// The previous mask comes back when this is destroyed.
class SignalReader {
 public:
  SignalReader();
  ~SignalReader();
  SignalReader(const SignalReader&) = delete;
  SignalReader& operator=(const SignalReader&) = delete;

  int fd() const { return fd_.get(); }
  // The next pending signal, or nullopt.
  std::optional<int> next();

 private:
  sigset_t original_mask_{};
  UniqueFd fd_;
};

}  // namespace corral
