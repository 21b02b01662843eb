#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "tasks/task_scheduler.hpp"

namespace corral {

// One run of a task, as its journal entry tells it.
struct TaskRunEntry {
  std::string task;
  tasks::Outcome outcome = tasks::Outcome::ok;
  tasks::WallTime scheduled;
  std::chrono::microseconds duration{0};
  std::optional<std::chrono::microseconds> delay;  // from due to start
  std::optional<unsigned> slot;
  unsigned attempt = 1;
  bool manual = false;
  std::string detail;  // the error, or why it did not run
};

// One journal entry per run, with CORRAL_TASK, CORRAL_TASK_OUTCOME and
// CORRAL_TASK_DURATION_US (and the due time, delay, slot and error) as fields, so that
// `journalctl CORRAL_TASK=purge-sessions` lists a task's runs. A plain log line when
// stderr is not the journal.
void log_task_run(const std::string& program, const TaskRunEntry& entry);

}  // namespace corral
