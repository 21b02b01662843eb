#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/notify_socket.hpp"

namespace corral::test {

// A corral supervisor started by a test, bound to a free port on 127.0.0.1, with its
// own notify socket; start() returns once systemd would have been told READY=1.
struct CorralInstance {
  NotifySocket notify;
  std::unique_ptr<ChildProcess> process;
  std::uint16_t port = 0;

  // workers 0: no --workers flag (the configuration file decides).
  static std::unique_ptr<CorralInstance> start(const std::vector<std::string>& flags, unsigned workers = 2);
  // The same for another binary built on corral (a service of the tests' own).
  static std::unique_ptr<CorralInstance> start_binary(const std::string& binary, const std::vector<std::string>& flags,
                                                      unsigned workers = 2);

  pid_t supervisor_pid() const { return process->pid(); }
  std::vector<pid_t> workers() const { return children_of(process->pid()); }

  // Log lines are searched from the mark: set it before causing an event, then wait.
  std::size_t mark() const { return process->line_count(); }
  // The pid in the next "worker N ready: pid X" line after `from`.
  pid_t wait_worker_ready(std::size_t from, milliseconds timeout = 10s);
  // Waits for the supervisor's line about `pid` exiting; returns the line.
  std::string wait_worker_exited(pid_t pid, std::size_t from, milliseconds timeout = 10s);
};

}  // namespace corral::test
