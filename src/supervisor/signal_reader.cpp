#include "supervisor/signal_reader.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include "common/system_error.hpp"

namespace corral {

SignalReader::SignalReader() {
  sigset_t handled;
  sigemptyset(&handled);
  for (const int signal : {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP}) sigaddset(&handled, signal);
  if (::sigprocmask(SIG_BLOCK, &handled, &original_mask_) != 0) {
    throw_system_error("sigprocmask", "blocking the signals the supervisor reads from a signalfd");
  }
  fd_.reset(::signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_.valid()) throw_system_error("signalfd", "preparing the supervisor's signal handling");
  ::signal(SIGPIPE, SIG_IGN);
}

SignalReader::~SignalReader() {
  ::sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
}

std::optional<int> SignalReader::next() {
  signalfd_siginfo info;
  if (::read(fd_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return std::nullopt;
  return static_cast<int>(info.ssi_signo);
}

}  // namespace corral
