#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "control/control_server.hpp"
#include "control/pool_view.hpp"
#include "metrics/pool_metrics.hpp"
#include "metrics/scrape_server.hpp"
#include "config/command_line.hpp"
#include "ipc/load_board.hpp"
#include "sd/notifier.hpp"
#include "supervisor/liveness.hpp"
#include "supervisor/recycling.hpp"
#include "supervisor/restart_policy.hpp"
#include "supervisor/rolling_reload.hpp"
#include "supervisor/signal_reader.hpp"
#include "supervisor/status_line.hpp"
#include "supervisor/worker_table.hpp"
#include "tasks/last_due_file.hpp"
#include "tasks/task_scheduler.hpp"

namespace corral {

// The arbiter: starts one worker per slot on the shared listening sockets, reads their
// messages, reaps and replaces them, reports to systemd, and drives reload and stop.
// It never accepts a connection and never polls a listening socket.
class Supervisor {
 public:
  // `metrics_listener`: where GET /metrics is served, if anywhere.
  Supervisor(const ProgramDescription& program, CommandLine command_line, std::vector<UniqueFd> listen_fds,
             bool socket_activated, UniqueFd metrics_listener);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Runs until stopped; returns the process exit code.
  int run();

 private:
  enum class Mode {
    starting,   // until every initial worker is ready (READY=1) or start_timeout
    serving,
    reloading,  // replacing the workers one at a time (RELOADING=1 ... READY=1)
    stopping,   // draining every worker, then exit (STOPPING=1)
  };

  // What must hold before workers start with `settings` (the store's file, the app's
  // program), or an exception saying what does not; the store's description.
  std::string check_before_start(const Settings& settings) const;
  // One turn of the loop, after waiting: everything the time or the table asks for.
  void turn();
  void wait_for_events();
  void start_worker(unsigned slot);
  void fill_vacant_slots();
  void note_failure(const WorkerRecord& worker, const std::string& how, bool start_failed);
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
  void maybe_recycle(WorkerRecord& worker);
  void reset_stable_backoffs();
  void check_terminal();
  void reconcile();
  void check_hung_workers();
  void check_start();
  void ping_watchdog();
  std::string status_text() const { return status_line(table_, counters_, store_view()); }
  StoreView store_view() const;
  void publish_status();
  std::optional<Clock::time_point> next_deadline() const;

  // App workers (app_workers.cpp): a program of any language, told about itself by
  // the environment (LISTEN_FDS, NOTIFY_SOCKET), heard through sd_notify(3).
  void start_app_worker(unsigned slot);
  // With an app and tasks, one more slot than `workers`: the agent, a worker of
  // corral's own that serves no request and runs the tasks (Egg.js's agent).
  static unsigned slots_for(const Settings& settings);
  bool is_agent_slot(unsigned slot) const;
  void read_notifications(WorkerRecord& worker);
  void handle_notification(WorkerRecord& worker, const std::string& datagram);
  void stop_app_worker(WorkerRecord& worker);
  void kill_overdue_app_workers();

  // Seeing the pool (pool_observer.cpp): the control socket, metrics and the samples
  // behind them.
  void open_local_servers(UniqueFd metrics_listener);
  void sample_workers();
  // `cpu_seconds`: all it used, from wait4().
  void fold_exited_worker(WorkerRecord& worker, ipc::RequestTotals counted, double cpu_seconds);
  void note_restart(metrics::RestartCause cause, unsigned slot);
  control::PoolView pool_view() const;
  metrics::PoolMetrics pool_metrics() const;
  std::string answer_control(const std::string& line);
  const char* mode_name() const;

  // Scheduled tasks (task_dispatch.cpp).
  struct TaskRunRecord {
    std::string task;
    tasks::WallTime scheduled;
    pid_t pid = 0;
    unsigned slot = 0;
    unsigned attempt = 1;
    bool manual = false;
    Clock::time_point sent_at;
    Clock::time_point deadline;  // its timeout
    std::optional<std::chrono::microseconds> delay;  // from due to start, once started
    bool timed_out = false;      // recorded as such; its worker is being replaced
    bool resent = false;         // handed back unstarted by a worker once already
  };
  void configure_tasks(bool at_start);
  void run_due_tasks();
  // Sends the run to the least loaded ready worker (or every one); the slots it went to.
  std::vector<unsigned> dispatch_task(const tasks::DueRun& run);
  void remember_last_due(const std::string& task, tasks::WallTime scheduled);
  void on_task_message(WorkerRecord& worker, const ipc::Message& message);
  // Records the run's outcome (journal, counts) and that it no longer runs.
  void end_task_run(const TaskRunRecord& run, tasks::Outcome outcome, std::chrono::microseconds duration,
                    std::string detail);
  // Only the outcome: a run past its timeout goes on until its worker exits.
  void record_task_run(const TaskRunRecord& run, tasks::Outcome outcome, std::chrono::microseconds duration,
                       std::string detail);
  void on_task_worker_exit(const WorkerRecord& worker, const std::string& how);
  void check_task_timeouts();
  std::optional<Clock::time_point> next_task_deadline() const;
  // `NAME task run TASK`: the JSON answer; throws std::invalid_argument with the error.
  std::string run_task_now(const std::string& name);

  const ProgramDescription& program_;
  CommandLine command_line_;
  Settings& settings_;  // command_line_.settings, replaced on reload
  std::vector<UniqueFd> listen_fds_;
  std::vector<int> listen_fd_numbers_;
  bool socket_activated_;
  WorkerTable table_;
  sd::Notifier notifier_;
  SignalReader signals_;
  // Shared with every worker: how many connections each holds (see ipc/load_board.hpp).
  ipc::LoadBoard load_board_;

  Mode mode_ = Mode::starting;
  // The time of this turn: read once after each wait, used by everything in the turn.
  Clock::time_point now_;
  Clock::time_point started_at_;
  int exit_code_ = 0;
  Clock::time_point stop_deadline_{};
  bool killed_all_ = false;
  RollingReload rolling_reload_;
  WatchdogPinger watchdog_;
  RestartBudget budget_;
  bool budget_spent_announced_ = false;
  TerminalWatch terminal_;
  Clock::time_point next_reconcile_{};
  std::optional<unsigned> reported_shortfall_;  // serving count last logged as short
  std::mt19937_64 random_{std::random_device{}()};
  PoolCounters counters_;
  std::string store_description_;  // checked at start and on reload
  UniqueFd metrics_listener_;  // until run() serves it; not valid() when there is none
  std::unique_ptr<control::ControlServer> control_;
  std::unique_ptr<metrics::ScrapeServer> scrape_;
  Clock::time_point next_sample_{};
  std::chrono::system_clock::time_point started_wall_clock_ = std::chrono::system_clock::now();
  tasks::WallTime wall_now_{};  // the wall clock of this turn, for schedules
  tasks::TaskScheduler scheduler_{[this] { return std::uniform_real_distribution<double>(0, 1)(random_); }};
  std::map<std::uint64_t, TaskRunRecord> task_runs_;
  std::uint64_t next_task_run_ = 1;
  // Names this corral instance as the owner of a run's lock in a shared store.
  std::uint64_t instance_token_ = std::uniform_int_distribution<std::uint64_t>(1)(random_);
  bool store_is_shared_ = false;
  tasks::LastDue last_due_;
  std::string last_due_path_;  // empty: no state directory
  bool last_due_save_failed_ = false;
};

}  // namespace corral
