#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/setting_table.hpp"
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

// Who is parsing: the program's name (in --help and --version) and its settings.
struct ProgramDescription {
  std::string name = "corral";
  std::string summary = "a socket-activated prefork HTTP service.";
  const SettingTable* table = nullptr;  // nullptr: corral's own settings only
};

// Parses the flags (one per row of the table), reads the configuration file they name
// (--config, or the FILE of --check-config) and applies the flags on top of it. Throws
// ExitRequest for bad flags and ConfigError for a bad file.
CommandLine parse_arguments(const std::vector<std::string>& arguments, const ProgramDescription& program = {});
CommandLine parse_command_line(int argc, const char* const* argv, const ProgramDescription& program = {});

// The arguments (without argv[0]) that make a worker with these settings: every row
// of the table, so the worker's Settings equal the supervisor's. Parsing them with
// parse_arguments gives the same settings back.
std::vector<std::string> worker_arguments(const SettingTable& table, const Settings& settings,
                                          const WorkerIdentity& worker);

}  // namespace corral
