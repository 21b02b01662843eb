#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace corral::test {
namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

RawConnection::RawConnection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto address = loopback(port);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    ::close(fd_);
    throw ConnectError(error, "connect() to 127.0.0.1:" + std::to_string(port) + " failed: " + std::strerror(error));
  }
}

RawConnection::~RawConnection() {
  ::close(fd_);
}

void RawConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) throw std::runtime_error(std::string("send() failed: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool RawConnection::fill(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  pollfd readable{fd_, POLLIN, 0};
  if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) <= 0) return false;
  char chunk[16384];
  const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

void RawConnection::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

std::optional<HttpResponse> RawConnection::read_response(std::chrono::milliseconds timeout, bool head_request) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(deadline)) return std::nullopt;
  }
  HttpResponse response;
  const auto head = buffer_.substr(0, header_end);
  const auto first_line_end = head.find("\r\n");
  const auto status_line = head.substr(0, first_line_end);
  const auto space = status_line.find(' ');
  if (space == std::string::npos) return std::nullopt;
  response.status = std::stoi(status_line.substr(space + 1, 3));
  std::size_t position = first_line_end == std::string::npos ? head.size() : first_line_end + 2;
  while (position < head.size()) {
    auto line_end = head.find("\r\n", position);
    if (line_end == std::string::npos) line_end = head.size();
    const auto line = head.substr(position, line_end - position);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      response.headers[lower(line.substr(0, colon))] = value;
    }
    position = line_end + 2;
  }
  const std::size_t length = head_request || response.header("content-length").empty()
                                 ? 0
                                 : std::stoul(response.header("content-length"));
  const auto body_start = header_end + 4;
  while (buffer_.size() < body_start + length) {
    if (!fill(deadline)) return std::nullopt;
  }
  response.body = buffer_.substr(body_start, length);
  buffer_.erase(0, body_start + length);
  return response;
}

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd readable{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[4096];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return true;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::optional<HttpResponse> http_request(std::uint16_t port, std::string_view method, std::string_view target,
                                         std::chrono::milliseconds timeout) {
  RawConnection connection(port);
  connection.send(std::string(method) + " " + std::string(target) +
                  " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  return connection.read_response(timeout, method == "HEAD");
}

std::uint16_t pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto address = loopback(0);
  ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace corral::test
