#pragma once

#include <signal.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "config/settings.hpp"
#include "sd/notifier.hpp"
#include "supervisor/worker_table.hpp"

namespace corral {

// The arbiter: starts one worker per slot on the shared listening sockets, reads their
// messages, reaps and replaces them, reports to systemd, and drives the stop. It never
// accepts a connection and never polls a listening socket.
class Supervisor {
 public:
  Supervisor(Settings settings, std::vector<UniqueFd> listen_fds);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Runs until stopped; returns the process exit code.
  int run();

 private:
  void start_worker(unsigned slot);
  void fill_vacant_slots();
  void handle_signals();
  void reap_children();
  void read_messages(WorkerRecord& worker);
  void handle_message(WorkerRecord& worker, const ipc::Message& message);
  void on_worker_exit(WorkerRecord worker, int wait_status);
  void drain(WorkerRecord& worker, std::string reason);
  void begin_stop(int signal);
  void kill_all(std::string_view why);
  void check_deadlines();
  void publish_status();
  std::optional<Clock::time_point> next_deadline() const;

  Settings settings_;
  std::vector<UniqueFd> listen_fds_;
  std::vector<int> listen_fd_numbers_;
  WorkerTable table_;
  sd::Notifier notifier_;
  sigset_t original_mask_{};
  UniqueFd signal_fd_;

  bool announced_ready_ = false;
  bool stopping_ = false;
  bool killed_all_ = false;
  Clock::time_point stop_deadline_{};
  std::uint64_t restarts_ = 0;
  std::uint64_t retired_requests_ = 0;
  std::string last_event_;
};

}  // namespace corral
