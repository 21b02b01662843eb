#pragma once

#include "config/command_line.hpp"

namespace corral {

// Entry point of the supervisor process: logging, the listening sockets (from systemd
// or bound here), then the arbiter loop. Returns the exit code; errors are logged here,
// once.
int run_supervisor(const ProgramDescription& program, CommandLine command_line);

}  // namespace corral
