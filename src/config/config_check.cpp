#include "config/config_check.hpp"

#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

#include "common/exit_code.hpp"
#include "config/app_config.hpp"
#include "config/config_error.hpp"
#include "net/endpoint.hpp"

namespace corral {

int check_configuration(const CommandLine& command_line) {
  const auto& s = command_line.settings;
  const auto source = command_line.config_path ? *command_line.config_path : std::string("defaults and flags");
  try {
    net::parse_endpoint(s.listen);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "corral: configuration error: {}: listen: {}\n", source, error.what());
    return exit_code::usage;
  }
  std::string app;
  if (s.app.enabled()) {
    try {
      app = fmt::format(", app {}", find_app_program(s.app, source));
    } catch (const ConfigError& error) {
      fmt::print(stderr, "corral: configuration error: {}\n", error.what());
      return exit_code::usage;
    }
  }
  fmt::print("corral: configuration OK: {} (workers {}, drain_timeout {} ms, log_level {}{})\n", source,
             s.workers == 0 ? std::string("one per CPU") : std::to_string(s.workers), s.drain_timeout.count(),
             log_level_name(s.log_level), app);
  return exit_code::ok;
}

}  // namespace corral
