#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

namespace corral::control {

// The control socket could not be used; the message says why and what to do.
class ControlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Sends one command line to the supervisor at `socket_path` and returns its answer
// line, waiting at most `timeout` in all.
std::string exchange(const std::string& socket_path, const std::string& command, std::chrono::milliseconds timeout);

}  // namespace corral::control
