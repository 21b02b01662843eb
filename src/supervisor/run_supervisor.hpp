#pragma once

#include "config/settings.hpp"

namespace corral {

// Entry point of the supervisor process: logging, the listening sockets (from systemd
// or bound here), the worker count, then the arbiter loop. Returns the exit code;
// errors are logged here, once.
int run_supervisor(Settings settings);

}  // namespace corral
