#include "net/unix_address.hpp"

#include <sys/socket.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace corral::net {

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    throw std::invalid_argument(
        fmt::format("{}: the path is longer than a unix socket's {} bytes", path, sizeof address.sun_path - 1));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

}  // namespace corral::net
