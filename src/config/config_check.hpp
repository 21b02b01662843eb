#pragma once

#include "config/command_line.hpp"

namespace corral {

// corral --check-config: everything parsed already; checks what parsing cannot (the
// listen address) and says what would run. Returns the exit code.
int check_configuration(const CommandLine& command_line);

}  // namespace corral
