#pragma once

#include <sys/socket.h>

namespace corral::net {

// Who is at the other end of a connected unix socket (pid, uid, gid as of connect()).
// Throws std::system_error naming getsockopt(SO_PEERCRED).
ucred peer_credentials(int socket);

}  // namespace corral::net
