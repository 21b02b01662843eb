#include "net/peer_credentials.hpp"

#include <cerrno>
#include <system_error>

namespace corral::net {

ucred peer_credentials(int socket) {
  ucred peer{};
  socklen_t length = sizeof peer;
  if (::getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) {
    throw std::system_error(errno, std::generic_category(), "getsockopt(SO_PEERCRED)");
  }
  return peer;
}

}  // namespace corral::net
