#pragma once

#include <sys/un.h>

#include <string>

namespace corral::net {

// The address of the unix socket at `path`. Throws std::invalid_argument naming the
// path if it does not fit (107 bytes on Linux).
sockaddr_un unix_address(const std::string& path);

}  // namespace corral::net
