#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "corral/task.hpp"

namespace corral {

// What a TaskRun shows its function, shared between the worker's loop (which may ask
// it to stop) and the run's thread.
struct TaskRun::State {
  std::string task;
  std::chrono::system_clock::time_point scheduled;
  unsigned attempt = 1;
  std::chrono::steady_clock::time_point deadline;  // the run's timeout
  mutable std::atomic<bool> stop{false};           // the worker must stop
  // For purge_expired_store: the SQLite store's file (empty: not SQLite) and how long
  // a statement may wait for the database lock.
  std::string sqlite_path;
  std::chrono::milliseconds store_timeout{1000};
};

namespace detail {

struct TaskRunAccess {
  using State = TaskRun::State;
  static TaskRun make(std::shared_ptr<const TaskRun::State> state) { return TaskRun(std::move(state)); }
  static const TaskRun::State& state(const TaskRun& run) { return *run.state_; }
};

}  // namespace detail
}  // namespace corral
