#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace corral::control {

// One worker as `corral status` shows it. Documented field by field in
// docs/operations.md ("corral status --json").
struct WorkerView {
  unsigned slot = 0;
  int pid = 0;
  std::uint32_t generation = 0;
  std::string state;  // starting, ready, retiring, draining, hung
  double uptime_seconds = 0;
  std::uint64_t requests = 0;
  double requests_per_second = 0;  // over the last 10 s
  std::uint32_t connections = 0;
  std::uint64_t restarts = 0;      // of its slot, since the supervisor started
  std::string last_exit;           // of its slot's previous worker: "killed by signal 9", ...
  std::uint64_t rss_bytes = 0;
  double cpu_percent = 0;          // of one CPU, over the last 10 s
  std::string status;              // an app worker's last STATUS= (sd_notify); "" for none
};

// One scheduled task as `corral status` shows it. Times are seconds since the Unix
// epoch; 0 for none.
struct TaskView {
  std::string name;
  std::string schedule;      // "every 60s", "cron 0 3 * * * (Europe/Berlin)"
  std::string run_on;        // one, all
  bool enabled = true;
  double next_run = 0;       // when it is next due
  double last_run = 0;       // when its last run was due
  std::string last_outcome;  // ok, failed, crashed, timeout, overlap, missed, elsewhere; "" before any
  double last_duration_seconds = 0;
  unsigned running = 0;      // runs going now (one per worker for run_on = all)
  std::map<std::string, std::uint64_t> runs;  // by outcome, since the supervisor started
};

// The pool, as the supervisor sees it at one moment.
struct PoolView {
  std::string service;
  std::string version;
  int supervisor_pid = 0;
  double uptime_seconds = 0;
  unsigned pool_size = 0;
  std::string mode;         // starting, serving, reloading, stopping
  std::string store;        // "sqlite /var/lib/corral/store.sqlite3", "redis 10.0.0.5:6379/0", "off"
  std::string store_state;  // up, down (in at least one worker), off
  std::string store_primary;          // Redis Sentinel: the primary in use; "" otherwise
  std::uint64_t store_failovers = 0;  // Redis Sentinel: primary changes seen
  std::uint64_t requests = 0;
  std::uint64_t restarts = 0;
  // The program run as the workers ("node server.js"); "" when they are the service's
  // own. corral does not see an app's requests: its request counts are not known.
  std::string app;
  std::vector<WorkerView> workers;
  double time = 0;  // the moment, in seconds since the Unix epoch
  std::vector<TaskView> tasks;
};

// JSON, as the control socket sends it and `corral status --json` prints it.
std::string to_json(const PoolView& view);
// Throws std::invalid_argument if `json` is not a pool view.
PoolView pool_view_from_json(const std::string& json);

// The table `corral status` prints, like `pm2 list`.
std::string render_table(const PoolView& view);

}  // namespace corral::control
