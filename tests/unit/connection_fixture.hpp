#pragma once

// A Connection over a socketpair, driven turn by turn: the narrow interface it needs
// from a worker (ConnectionOwner) is played by the test.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "http/router.hpp"
#include "worker/connection.hpp"
#include "worker/handler_loop.hpp"

namespace corral::test {

using namespace std::chrono_literals;

class TestOwner final : public ConnectionOwner {
 public:
  explicit TestOwner(http::Router& router) : router_(router) {}
  void serve(Request& request, Response& response) override {
    ++served;
    router_.dispatch(request, response);
  }
  bool refuse_unrouted(const Request& request, Response& response) override {
    return router_.answer_unrouted(request, response);
  }
  void on_handler_exception(const std::string& what) override { exceptions.push_back(what); }
  bool draining() const override { return draining_now; }
  void on_closed(Connection&) override { closed = true; }

  int served = 0;
  std::vector<std::string> exceptions;
  bool draining_now = false;
  bool closed = false;

 private:
  http::Router& router_;
};

// How the connection's bytes move: each test runs on both.
enum class IoPath { epoll, completion_ring, shared_completion_ring };

inline std::string io_path_name(const ::testing::TestParamInfo<IoPath>& info) {
  constexpr const char* names[] = {"Epoll", "CompletionRing", "SharedCompletionRing"};  // in IoPath's order
  return names[static_cast<int>(info.param)];
}

class ConnectionTest : public ::testing::TestWithParam<IoPath> {
 protected:
  explicit ConnectionTest(HttpLimits limits = {}) : limits_(limits) {}

  void SetUp() override {
    // A pool of two buffers of 32 bytes: requests arrive in several completions, and the
    // pool runs empty (the receive ends and is asked again). Either one per receive (as
    // on Linux before 6.12.29), or shared (skipped where the kernel has none): receives
    // fill them in turn, and a request that meets a buffer's end comes in two completions.
    if (GetParam() != IoPath::epoll) {
      const bool shared = GetParam() == IoPath::shared_completion_ring;
      loop_.open_completion_ring(
          {.entries = 64, .buffers = 2, .buffer_bytes = 32, .shared_buffer_bytes = shared ? 32u : 0u});
      if (shared && !loop_.completion_ring()->shares_buffers()) GTEST_SKIP() << "this kernel gets a buffer per receive";
    }
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    client_.reset(fds[0]);
    connection_ = std::make_unique<Connection>(environment_, owner_, UniqueFd(fds[1]));
  }

  void send(std::string_view bytes) {
    ASSERT_EQ(::send(client_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }

  // Turns the loop until `count` complete responses (or EOF) have arrived.
  std::string responses(std::size_t count, std::chrono::milliseconds deadline = 5s) {
    std::string received;
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
      loop_.run_once(1ms);
      char buffer[65536];
      const auto got = ::recv(client_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
      if (got == 0) break;
      if (got > 0) received.append(buffer, static_cast<std::size_t>(got));
      if (complete_responses(received) >= count) break;
    }
    return received;
  }

  static std::size_t complete_responses(const std::string& text) {
    std::size_t count = 0;
    std::size_t at = 0;
    while ((at = text.find("HTTP/1.", at)) != std::string::npos) {
      const auto end = text.find("\r\n\r\n", at);
      if (end == std::string::npos) break;
      const auto length_at = text.find("Content-Length: ", at);
      std::size_t length = 0;
      if (length_at != std::string::npos && length_at < end) length = std::stoul(text.substr(length_at + 16));
      if (text.size() < end + 4 + length) break;
      ++count;
      at = end + 4 + length;
    }
    return count;
  }

  HttpLimits limits_;
  EventLoop loop_;
  HandlerLoop handler_loop_{loop_, [](const std::string&) {}};
  ConnectionDeadlines deadlines_{loop_, limits_};
  std::array<char, 16 * 1024> buffer_{};
  HttpDate date_;
  ConnectionEnvironment environment_{loop_, handler_loop_, deadlines_, limits_, buffer_, date_};
  http::Router router_;
  TestOwner owner_{router_};
  UniqueFd client_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace corral::test
