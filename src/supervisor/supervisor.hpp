#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "config/command_line.hpp"
#include "ipc/load_board.hpp"
#include "sd/notifier.hpp"
#include "supervisor/recycling.hpp"
#include "supervisor/restart_policy.hpp"
#include "supervisor/worker_table.hpp"

#include <random>

namespace corral {

// The arbiter: starts one worker per slot on the shared listening sockets, reads their
// messages, reaps and replaces them, reports to systemd, and drives reload and stop.
// It never accepts a connection and never polls a listening socket.
class Supervisor {
 public:
  Supervisor(const ProgramDescription& program, CommandLine command_line, std::vector<UniqueFd> listen_fds,
             bool socket_activated);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Runs until stopped; returns the process exit code.
  int run();

 private:
  void start_worker(unsigned slot);
  void fill_vacant_slots(Clock::time_point now);
  void note_failure(const WorkerRecord& worker, Clock::time_point now, const std::string& how);
  void handle_signals();
  void reap_children();
  void read_messages(WorkerRecord& worker);
  void handle_message(WorkerRecord& worker, const ipc::Message& message);
  void on_worker_exit(WorkerRecord worker, int wait_status);
  void drain(WorkerRecord& worker, std::string reason);
  void begin_stop(int signal);
  void kill_all(std::string_view why);
  void reload();
  void advance_reload();
  bool retire_replaced_workers();
  void maybe_recycle(WorkerRecord& worker);
  void reset_stable_backoffs(Clock::time_point now);
  void check_terminal(Clock::time_point now);
  void reconcile(Clock::time_point now);
  RecyclePolicy recycle_policy() const;
  void check_hung_workers(Clock::time_point now);
  void check_start(Clock::time_point now);
  void ping_watchdog(Clock::time_point now);
  bool pool_healthy(Clock::time_point now) const;
  std::string status_text() const;
  void publish_status();
  std::optional<Clock::time_point> next_deadline() const;

  const ProgramDescription& program_;
  CommandLine command_line_;
  Settings& settings_;  // command_line_.settings, replaced on reload
  std::vector<UniqueFd> listen_fds_;
  std::vector<int> listen_fd_numbers_;
  bool socket_activated_;
  WorkerTable table_;
  sd::Notifier notifier_;
  sigset_t original_mask_{};
  UniqueFd signal_fd_;
  // Shared with every worker: how many connections each holds (see ipc/load_board.hpp).
  ipc::LoadBoard load_board_;

  Clock::time_point started_at_;
  bool announced_ready_ = false;
  bool stopping_ = false;
  bool killed_all_ = false;
  int exit_code_ = 0;
  Clock::time_point stop_deadline_{};
  bool reloading_ = false;
  std::deque<pid_t> reload_queue_;  // workers still running the previous configuration
  std::chrono::microseconds watchdog_interval_{0};
  Clock::time_point next_watchdog_ping_{};
  RestartBudget budget_;
  std::vector<StartBackoff> backoffs_;          // per slot
  std::vector<bool> replacing_after_failure_;   // per slot: the next start is a restart
  bool budget_spent_announced_ = false;
  TerminalWatch terminal_;
  Clock::time_point next_reconcile_{};
  std::optional<unsigned> reported_shortfall_;  // serving count last logged as short
  std::mt19937_64 random_{std::random_device{}()};
  std::uint64_t restarts_ = 0;
  std::uint64_t recycled_ = 0;
  std::uint64_t retired_requests_ = 0;
  std::string last_event_;
};

}  // namespace corral
