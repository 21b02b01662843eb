#include "supervisor/wait_status.hpp"

#include <sys/wait.h>

#include <cstring>

#include <fmt/format.h>

namespace corral {

std::string signal_name(int signal) {
  const char* abbreviation = sigabbrev_np(signal);
  return abbreviation ? fmt::format("SIG{}", abbreviation) : fmt::format("signal {}", signal);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by {}{}", signal_name(WTERMSIG(status)), WCOREDUMP(status) ? " (core dumped)" : "");
  }
  return fmt::format("changed state (wait status {:#x})", status);
}

bool exited_cleanly(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string seconds_text(std::chrono::milliseconds value) {
  return fmt::format("{:g} s", static_cast<double>(value.count()) / 1000.0);
}

}  // namespace corral
