#pragma once

#include <string>
#include <string_view>

namespace corral::control {

// Where a service's control socket is, unless --control-socket says:
//   $RUNTIME_DIRECTORY/control.sock     under systemd (RuntimeDirectory=NAME)
//   /run/NAME/control.sock              as root otherwise (what the unit gives too)
//   $XDG_RUNTIME_DIR/NAME/control.sock  as another user
//   /tmp/NAME-UID/control.sock          as another user without XDG_RUNTIME_DIR
// The supervisor and `NAME status` run this same function, so they agree.
std::string default_socket_path(std::string_view service_name);

}  // namespace corral::control
