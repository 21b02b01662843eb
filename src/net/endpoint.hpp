#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/unique_fd.hpp"

namespace corral::net {

struct Endpoint {
  std::string host;  // an IPv4 or IPv6 literal, or a name; brackets removed
  std::uint16_t port = 0;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// "127.0.0.1:3000", "[::1]:3000", "localhost:0". Throws std::invalid_argument with a
// message that says what is wrong and what a valid value looks like.
Endpoint parse_endpoint(std::string_view text);

// socket + SO_REUSEADDR + bind + listen, close-on-exec. Port 0 picks a free port.
UniqueFd bind_listening_socket(const Endpoint& endpoint, int backlog);

// "127.0.0.1:3000" / "[::1]:3000" from getsockname, for logs.
std::string describe_local_address(int fd);

}  // namespace corral::net
