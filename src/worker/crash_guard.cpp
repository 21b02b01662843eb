#include "worker/crash_guard.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <string>

#include "common/system_error.hpp"
#include "ipc/message.hpp"

namespace corral {
namespace {

constexpr std::array fatal_signals{SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

int guarded_channel = -1;
volatile std::uint64_t requests_handled = 0;
std::array<ipc::Message, fatal_signals.size()> prepared_notices;

// A stack overflow is a SIGSEGV too: the handler needs a stack of its own.
alignas(16) char alternate_stack[64 * 1024];

void on_fatal_signal(int signal) {
  for (std::size_t i = 0; i < fatal_signals.size(); ++i) {
    if (fatal_signals[i] == signal) {
      prepared_notices[i].value = requests_handled;
      ::send(guarded_channel, &prepared_notices[i], sizeof(ipc::Message), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
  }
  // SA_RESETHAND restored the default action and SA_NODEFER lets it through now.
  ::raise(signal);
}

}  // namespace

void crash_guard_count_request() {
  requests_handled = requests_handled + 1;
}

void install_crash_guard(int channel_fd, unsigned slot, std::uint32_t generation) {
  guarded_channel = channel_fd;
  for (std::size_t i = 0; i < fatal_signals.size(); ++i) {
    const char* name = sigabbrev_np(fatal_signals[i]);
    prepared_notices[i] = ipc::Message::suicide_notice(slot, generation,
                                                       std::string("fatal signal SIG") + (name ? name : "?"));
  }
  stack_t stack{};
  stack.ss_sp = alternate_stack;
  stack.ss_size = sizeof alternate_stack;
  if (::sigaltstack(&stack, nullptr) != 0) throw_system_error("sigaltstack", "installing the crash guard");

  struct sigaction action {};
  action.sa_handler = on_fatal_signal;
  action.sa_flags = SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (const int signal : fatal_signals) {
    if (::sigaction(signal, &action, nullptr) != 0) {
      throw_system_error("sigaction", "installing the crash guard");
    }
  }
}

}  // namespace corral
