#pragma once

#include <string>

namespace corral::control {

// `NAME task run TASK [--control-socket PATH]`: asks the running supervisor to start a
// run of TASK now, as a systemd .timer's ExecStart= may. Returns the exit code: 0 once
// the run was sent to a worker (its outcome goes to the journal), or 1 with the reason
// on stderr (unknown task, still running, not running, no permission).
int run_task_command(int argc, char** argv, const std::string& service_name);

}  // namespace corral::control
