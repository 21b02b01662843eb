#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"

namespace corral {

struct CommandLine {
  Settings settings;
  std::optional<WorkerIdentity> worker;  // set: this process is a worker
};

// Thrown when parsing ends the program: --help (code 0) or a usage error (code 2).
// The text has been printed already.
struct ExitRequest {
  int code;
};

CommandLine parse_command_line(int argc, const char* const* argv);

// The arguments (without argv[0]) that make a worker with these settings; parsing
// them with parse_command_line gives the same settings back.
std::vector<std::string> worker_arguments(const Settings& settings, const WorkerIdentity& worker);

}  // namespace corral
