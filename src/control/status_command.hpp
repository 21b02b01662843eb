#pragma once

#include <string>

namespace corral::control {

// `NAME status [--json] [--watch] [--control-socket PATH]`: the pool as its supervisor
// sees it, from the control socket. Returns the exit code: 0, or 1 with the reason on
// stderr (not running, no permission).
int run_status_command(int argc, char** argv, const std::string& service_name);

}  // namespace corral::control
