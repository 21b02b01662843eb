#pragma once

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "control/socket_path.hpp"

namespace corral::control {

// --control-socket PATH, for the commands that talk to a running supervisor
// (`NAME status`, `NAME task run`): `socket` holds the default until the flag says
// otherwise.
inline void add_socket_option(CLI::App& command, std::string& socket, std::string_view service_name) {
  socket = default_socket_path(service_name);
  command.add_option("--control-socket", socket, "the supervisor's control socket (default: " + socket + ")");
}

}  // namespace corral::control
