#include "control/socket_path.hpp"

#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

namespace corral::control {

std::string default_socket_path(std::string_view service_name) {
  if (const char* runtime = std::getenv("RUNTIME_DIRECTORY")) {
    const std::string_view directories(runtime);
    return fmt::format("{}/control.sock", directories.substr(0, directories.find(':')));
  }
  if (::geteuid() == 0) return fmt::format("/run/{}/control.sock", service_name);
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR")) return fmt::format("{}/{}/control.sock", xdg, service_name);
  return fmt::format("/tmp/{}-{}/control.sock", service_name, ::geteuid());
}

}  // namespace corral::control
