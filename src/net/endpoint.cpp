#include "net/endpoint.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <charconv>
#include <memory>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "common/system_error.hpp"

namespace corral::net {

Endpoint parse_endpoint(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return std::invalid_argument(fmt::format(
        "'{}' is not a listen address ({}); expected HOST:PORT such as 127.0.0.1:3000 or [::1]:3000",
        text, why));
  };
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) throw invalid("no port");
  auto host = text.substr(0, colon);
  const auto port_text = text.substr(colon + 1);
  if (host.starts_with('[')) {
    if (!host.ends_with(']')) throw invalid("unclosed '['");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    throw invalid("an IPv6 address must be written in brackets");
  }
  if (host.empty()) throw invalid("no host");
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535) {
    throw invalid("the port must be a number from 0 to 65535");
  }
  return Endpoint{std::string(host), static_cast<std::uint16_t>(port)};
}

UniqueFd bind_listening_socket(const Endpoint& endpoint, int backlog) {
  const auto attempt = fmt::format("listening on {}:{}", endpoint.host, endpoint.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const auto port = std::to_string(endpoint.port);
  if (const int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    throw std::runtime_error(fmt::format("getaddrinfo() failed while {}: {}", attempt, gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);
  const auto* address = addresses.get();

  UniqueFd fd(::socket(address->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw_system_error("socket", attempt);
  const int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
    throw_system_error("setsockopt(SO_REUSEADDR)", attempt);
  }
  if (address->ai_family == AF_INET6 &&
      ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) {
    throw_system_error("setsockopt(IPV6_V6ONLY)", attempt);
  }
  // Each answer goes out in one send(); without TCP_NODELAY, an answer sent while the
  // client has not yet acknowledged the previous one would wait for its delayed ACK.
  // Set before listen(), every connection inherits it, from the first one queued.
  if (::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) {
    throw_system_error("setsockopt(TCP_NODELAY)", attempt);
  }
  if (::bind(fd.get(), address->ai_addr, address->ai_addrlen) != 0) throw_system_error("bind", attempt);
  if (::listen(fd.get(), backlog) != 0) throw_system_error("listen", attempt);
  return fd;
}

std::string describe_local_address(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return fmt::format("fd {}", fd);
  }
  char host[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage);
    ::inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
    return fmt::format("{}:{}", host, ntohs(v4->sin_port));
  }
  if (storage.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    return fmt::format("[{}]:{}", host, ntohs(v6->sin6_port));
  }
  return fmt::format("fd {} (address family {})", fd, storage.ss_family);
}

}  // namespace corral::net
