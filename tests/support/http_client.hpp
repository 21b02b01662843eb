#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <stdexcept>
#include <string_view>

namespace corral::test {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string header(const std::string& lower_case_name) const {
    const auto it = headers.find(lower_case_name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

// connect() failed; `error` is its errno (ECONNREFUSED: nothing listens).
class ConnectError : public std::runtime_error {
 public:
  ConnectError(int error, const std::string& what) : std::runtime_error(what), error(error) {}
  int error;
};

// A raw TCP connection to 127.0.0.1 that sends exactly the bytes a test gives it and
// parses responses (Content-Length bodies), so tests control every byte on the wire.
// Every read waits on poll() up to its timeout.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void send(std::string_view bytes);
  // The client's FIN: nothing more will be sent (shutdown(SHUT_WR)).
  void shutdown_write();
  // nullopt if the connection closed (or the deadline passed) before a whole response.
  std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout, bool head_request = false);
  // True once the server closed the connection with nothing more to read.
  bool wait_closed(std::chrono::milliseconds timeout);
  // Bytes received and not yet parsed.
  const std::string& unread() const { return buffer_; }

 private:
  // Reads more into buffer_; false on EOF, error or deadline.
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

// GET (or another method) on a new connection with Connection: close.
std::optional<HttpResponse> http_request(std::uint16_t port, std::string_view method, std::string_view target,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A port that was free a moment ago (for tools that need a port number up front).
std::uint16_t pick_free_port();

}  // namespace corral::test
