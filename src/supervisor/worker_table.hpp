#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/channel.hpp"
#include "sd/notify_socket.hpp"
#include "supervisor/rate_window.hpp"
#include "supervisor/restart_policy.hpp"

namespace corral {

using Clock = std::chrono::steady_clock;

enum class WorkerState {
  starting,  // forked, not yet accepting
  ready,     // accepting
  retiring,  // still accepting, but replaced as soon as its successor is ready (reload)
  draining,  // told to stop (or announced its own end): finishing in-flight work
};

struct WorkerRecord {
  pid_t pid = 0;
  unsigned slot = 0;
  std::uint32_t generation = 0;
  WorkerState state = WorkerState::starting;
  Clock::time_point started_at{};
  Clock::time_point last_heard{};
  std::uint64_t requests = 0;
  std::uint64_t request_limit = 0;  // recycling: its own max_requests with jitter (0: off)
  bool was_ready = false;        // reported Ready at least once
  std::optional<Clock::time_point> ready_at;
  std::string retire_reason;     // why it is retiring: "reload" or "recycle"
  bool drain_sent = false;       // we asked it to drain (it may also drain on its own)
  std::optional<Clock::time_point> abort_sent_at;  // hung: SIGABRT sent then
  std::optional<Clock::time_point> kill_sent_at;   // still hung after SIGABRT: SIGKILL sent then
  std::string drain_reason;      // why it is draining, for the exit log line
  ipc::Channel channel;          // the supervisor's end (corral's own workers)
  // An app worker (docs/apps.md) speaks sd_notify(3) on a socket of its own instead.
  sd::NotifySocket notify;
  bool hang_checked = true;      // an app worker: only once it has sent WATCHDOG=1
  std::string app_status;        // an app worker's last STATUS=
  std::optional<Clock::time_point> kill_at;  // an app worker told to stop: SIGKILL then
  bool warned_ignored = false;   // an app worker's unsupported notify variables were logged
  // The fd its messages arrive on, or -1.
  int message_fd() const { return channel.open() ? channel.fd() : notify.valid() ? notify.fd() : -1; }
  bool is_app() const { return notify.valid(); }
  // Sampled about once a second, for corral status and metrics.
  RateWindow request_rate;       // requests served
  RateWindow cpu_rate;           // CPU seconds used
  std::uint64_t rss_bytes = 0;
};

// What the supervisor keeps per slot, whichever worker holds it.
struct SlotRecord {
  std::uint32_t generation = 0;            // of the slot's latest worker; counts up from 1
  std::optional<Clock::time_point> hold;   // no start before this (backoff, spawn retry, budget)
  StartBackoff backoff;
  bool replacing_after_failure = false;    // the next start is a restart (counts against the budget)
  std::uint64_t restarts = 0;              // replacements after a failure, for corral status
  std::string last_exit;                   // how its last worker ended: "killed by signal 9"
};

// The supervisor's view of the pool: a number of slots, each meant to hold one serving
// (starting or ready) worker. A slot may at the same time hold a retiring worker that
// still serves until its successor is ready, and workers that are draining, such as one
// that sent a suicide notice while its replacement starts.
class WorkerTable {
 public:
  explicit WorkerTable(unsigned slot_count);

  unsigned slot_count() const { return static_cast<unsigned>(slots_.size()); }
  SlotRecord& slot(unsigned index) { return slots_.at(index); }
  const SlotRecord& slot(unsigned index) const { return slots_.at(index); }
  // Grows or shrinks the pool; workers in removed slots are the caller's to drain.
  void resize(unsigned slot_count);

  // The generation the next worker of `slot` gets; generations count up from 1.
  std::uint32_t take_generation(unsigned slot);

  WorkerRecord& add(unsigned slot, std::uint32_t generation, pid_t pid, ipc::Channel channel,
                    Clock::time_point now);
  WorkerRecord* find(pid_t pid);
  const WorkerRecord* find(pid_t pid) const;
  std::optional<WorkerRecord> remove(pid_t pid);

  // A slot that lost its worker early may be held empty until `until` (respawn delay).
  void hold_slot(unsigned slot, Clock::time_point until);
  std::optional<Clock::time_point> earliest_hold() const;

  // Slots with no serving worker that may be filled at `now`, in slot order.
  std::vector<unsigned> vacant_slots(Clock::time_point now) const;
  // Every slot has a worker that reported Ready and is not draining.
  bool all_slots_ready() const;
  bool slot_has_ready_worker(unsigned slot) const;
  unsigned count(WorkerState state) const;
  // A worker that SIGKILL has not removed within `grace` (stuck in the kernel).
  bool has_unkillable_worker(Clock::time_point now, Clock::duration grace) const;

  bool empty() const { return workers_.empty(); }
  std::size_t size() const { return workers_.size(); }
  auto begin() { return workers_.begin(); }
  auto end() { return workers_.end(); }
  auto begin() const { return workers_.begin(); }
  auto end() const { return workers_.end(); }

 private:
  bool has_serving_worker(unsigned slot) const;

  std::map<pid_t, WorkerRecord> workers_;
  std::vector<SlotRecord> slots_;
};

}  // namespace corral
