#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "corral/task.hpp"

namespace corral::tasks {

// A task as the supervisor schedules it: what the service defined in code, with the
// configuration file's [[task]] entry applied on top, or a program the file names
// (`command`). The function stays in the worker, found by name.
struct TaskSpec {
  std::string name;
  Schedule schedule;
  TaskOptions options;
  std::vector<std::string> command = {};  // a program to run; empty: the service's function
};

// The longest period, timeout or jitter a task may have: beyond it, times overflow.
inline constexpr std::chrono::hours max_task_duration{24 * 366};

// "purge-sessions": lower-case letters, digits, '-' and '_', 1 to 64, starting with a
// letter (it names journal fields, metrics labels and keys in Redis).
bool valid_task_name(std::string_view name);

const char* run_on_name(RunOn run_on);
const char* missed_name(MissedRuns missed);

}  // namespace corral::tasks
