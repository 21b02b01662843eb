#pragma once

#include <string>
#include <vector>

#include "corral/task.hpp"
#include "tasks/task_spec.hpp"
#include "worker/task_runner.hpp"

namespace corral {

// The function of a task that runs a program ([[task]] command in the file): the
// program is started for each run, in a process group of its own, with CORRAL_TASK,
// CORRAL_TASK_SCHEDULED (seconds since the epoch) and CORRAL_TASK_ATTEMPT; each line it
// writes to stdout or stderr is logged with the task's name (the journal field
// CORRAL_TASK under systemd). When the run must stop (its timeout, the worker's drain
// deadline) the group gets SIGTERM, then SIGKILL 5 s later. A run fails when the
// program cannot be started or does not exit with 0, saying how it ended.
TaskFunction command_task(std::string name, std::vector<std::string> command, std::string service_name);

// The service's task functions, with one for each command task among `specs`.
TaskFunctions with_command_tasks(TaskFunctions functions, const std::vector<tasks::TaskSpec>& specs,
                                 std::string_view service_name);

}  // namespace corral
