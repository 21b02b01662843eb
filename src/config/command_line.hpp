#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"

namespace corral {

struct CommandLine {
  Settings settings;                     // defaults < configuration file < flags
  std::optional<WorkerIdentity> worker;  // set: this process is a worker
  std::optional<std::string> config_path;
  bool check_config = false;             // validate and exit, like nginx -t
  std::vector<std::string> arguments;    // as given (without argv[0]), to re-read on reload
};

// Thrown when parsing ends the program: --help (code 0) or a usage error (code 2).
// The text has been printed already.
struct ExitRequest {
  int code;
};

// Parses the flags, reads the configuration file they name (--config, or the FILE of
// --check-config) and applies the flags on top of it. Throws ExitRequest for bad flags
// and ConfigError for a bad file.
CommandLine parse_command_line(int argc, const char* const* argv);
CommandLine parse_arguments(const std::vector<std::string>& arguments);

// The arguments (without argv[0]) that make a worker with these settings; parsing
// them with parse_arguments gives the same settings back.
std::vector<std::string> worker_arguments(const Settings& settings, const WorkerIdentity& worker);

}  // namespace corral
