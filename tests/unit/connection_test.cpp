// A connection's reading, framing and answering (answers that come later are in
// connection_deferred_test.cpp), over a socketpair, driven turn by turn.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "connection_fixture.hpp"

// Every allocation of this test binary is counted while `counting` is set. GCC cannot
// see that these replace the global pair, and warns that free() meets operator new.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }

namespace corral::test {
namespace {

TEST_P(ConnectionTest, KeepAliveRequestsWithoutABodyAllocateNothing) {
  const std::string greeting = "I am worker, pid:123456, ppid:123455";
  router_.add("GET", "/", [&greeting](const Request&, Response& response) { response.text(200, greeting); });
  const std::string request = "GET / HTTP/1.1\r\nHost: localhost:3000\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n";
  // The first requests size the connection's buffers (in a shared pool of 32-byte
  // buffers a request's place repeats every 16 requests).
  for (int i = 0; i < 20; ++i) {
    send(request);
    ASSERT_EQ(complete_responses(responses(1)), 1u);
  }
  long counted = 0;
  for (int i = 0; i < 200; ++i) {
    send(request);
    counting = true;
    // Until the answer can be read, and a turn more: on the ring the request is
    // received, answered and sent, and the send completes, over several turns.
    const auto until = std::chrono::steady_clock::now() + 5s;
    pollfd answered{client_.get(), POLLIN, 0};
    while (::poll(&answered, 1, 0) == 0 && std::chrono::steady_clock::now() < until) loop_.run_once(1ms);
    loop_.run_once(0ms);
    counting = false;
    counted += allocations.exchange(0);
    const auto answer = responses(1);
    ASSERT_NE(answer.find(greeting), std::string::npos) << answer;
  }
  EXPECT_EQ(counted, 0) << "heap allocations in 200 keep-alive requests";
  EXPECT_EQ(owner_.served, 220);
}

TEST_P(ConnectionTest, EchoesAChunkedBodyAndReadsACookie) {
  router_.add("POST", "/echo", [](const Request& request, Response& response) {
    response.text(200, std::string(request.cookie("sid").value_or("none")) + ":" + std::string(request.body()));
  });
  send("POST /echo HTTP/1.1\r\nHost: x\r\nCookie: sid=42\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  send("2\r\nde\r\n0\r\n\r\n");
  const auto answer = responses(1);
  EXPECT_TRUE(answer.ends_with("\r\n\r\n42:abcde")) << answer;
}

TEST_P(ConnectionTest, AHeaderLargerThanWhatIsReceivedAheadIsReadWholeWhenTheLimitAllowsIt) {
  // Beast takes nothing of an unfinished header until its end has come, so the whole
  // header waits in the connection: the ring must keep receiving past its 64 KiB.
  limits_.max_header_bytes = 256 * 1024;
  router_.add("GET", "/", [](const Request& request, Response& response) {
    response.text(200, std::to_string(request.header("x-big").value_or("").size()));
  });
  send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
  const std::string big(100 * 1024, 'b');
  for (std::size_t at = 0; at < big.size(); at += 16 * 1024) {
    send(std::string_view(big).substr(at, 16 * 1024));
    loop_.run_once(std::chrono::milliseconds(0));
  }
  send("\r\n\r\n");
  const auto answer = responses(1);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 ")) << answer.substr(0, 200);
  EXPECT_TRUE(answer.ends_with("\r\n\r\n102400")) << answer.substr(0, 200);
}

TEST_P(ConnectionTest, AClientThatLeavesDuringALargeAnswerEndsTheConnection) {
  router_.add("GET", "/large", [](const Request&, Response& response) {
    response.text(200, std::string(4 << 20, 'x'));
  });
  send("GET /large HTTP/1.1\r\nHost: x\r\n\r\n");
  // Some of the answer, then the client goes: the rest cannot be sent.
  char buffer[65536];
  ssize_t got = -1;
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (got <= 0 && std::chrono::steady_clock::now() < until) {
    loop_.run_once(1ms);
    got = ::recv(client_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
  }
  ASSERT_GT(got, 0);
  client_.reset();
  while (!owner_.closed && std::chrono::steady_clock::now() < until) loop_.run_once(1ms);
  EXPECT_TRUE(owner_.closed);
}

// A draining worker closes after this answer, but the keep-alive client sends its next
// request while the answer is still on its way: the close lingers (the answer, then the
// end), where closing on the unread request would reset the connection.
TEST_P(ConnectionTest, AClientClosedOnWhoseNextRequestCameDuringTheAnswerGetsTheAnswerAndAnEndNotAReset) {
  router_.add("GET", "/large", [](const Request&, Response& response) {
    response.text(200, std::string(4 << 20, 'x'));
  });
  owner_.draining_now = true;
  send("GET /large HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string received;
  char buffer[65536];
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (received.empty() && std::chrono::steady_clock::now() < until) {
    loop_.run_once(1ms);
    const auto got = ::recv(client_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (got > 0) received.append(buffer, static_cast<std::size_t>(got));
  }
  ASSERT_FALSE(received.empty());
  ASSERT_EQ(complete_responses(received), 0u) << "the answer must still be on its way";
  send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  ssize_t got = 1;
  int error = 0;
  while (std::chrono::steady_clock::now() < until) {
    loop_.run_once(1ms);
    got = ::recv(client_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (got > 0) {
      received.append(buffer, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EAGAIN) {
      error = got < 0 ? errno : 0;
      break;
    }
  }
  EXPECT_EQ(got, 0) << "the connection ended with " << std::strerror(error) << " after " << received.size() << " bytes";
  EXPECT_EQ(complete_responses(received), 1u);
  EXPECT_NE(received.find("Connection: close"), std::string::npos);
}

TEST_P(ConnectionTest, PipelinedRequestsAreAnsweredInOrderInOneWrite) {
  router_.add("GET", "/{n}", [](const Request& request, Response& response) {
    response.text(200, std::string(*request.param("n")));
  });
  send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto answer = responses(3);
  const auto one = answer.find("\r\n\r\n1");
  const auto two = answer.find("\r\n\r\n2");
  const auto three = answer.find("\r\n\r\n3");
  ASSERT_NE(three, std::string::npos) << answer;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
}

TEST_P(ConnectionTest, OnlyHttpOneZeroAndOneOneAreServed) {
  router_.add("GET", "/", [](const Request&, Response& response) { response.text(200, "ok"); });
  send("GET / HTTP/2.0\r\nHost: x\r\n\r\n");
  const auto answer = responses(1);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 ")) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_EQ(owner_.served, 0);
}

TEST_P(ConnectionTest, HandlerExceptionAnswers500AndTellsTheOwner) {
  router_.add("GET", "/throw", [](const Request&, Response&) { throw std::runtime_error("boom"); });
  send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(responses(1).find("HTTP/1.1 500 "), std::string::npos);
  ASSERT_EQ(owner_.exceptions.size(), 1u);
  EXPECT_EQ(owner_.exceptions[0], "boom");
}

INSTANTIATE_TEST_SUITE_P(IoPaths, ConnectionTest,
                         ::testing::Values(IoPath::epoll, IoPath::completion_ring, IoPath::shared_completion_ring),
                         io_path_name);

// Timeouts short enough to pass within a test: the send's shorter than the request's.
class ShortTimeoutsTest : public ConnectionTest {
 protected:
  ShortTimeoutsTest() : ConnectionTest(HttpLimits{.request_timeout = 600ms, .send_timeout = 200ms}) {}

  // Turns the loop for `period`, as a slow client lets it.
  void wait(std::chrono::milliseconds period) {
    const auto until = std::chrono::steady_clock::now() + period;
    while (std::chrono::steady_clock::now() < until) loop_.run_once(10ms);
  }
};

// The client sends the body only after the 100 Continue, so the body has the request
// timeout from the 100: not what was left of it after a slow header (epoll), nor the
// send timeout of the 100 (on the ring, every send completes later, through writing).
TEST_P(ShortTimeoutsTest, TheBodyAfterA100ContinueHasTheRequestTimeoutFromThe100) {
  router_.add("POST", "/echo", [](const Request& request, Response& response) {
    response.text(200, std::string(request.body()));
  });
  send("POST /echo HTTP/1.1\r\nHost: x\r\n");
  wait(400ms);
  send("Content-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  std::string interim;
  char buffer[4096];
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!interim.ends_with("\r\n\r\n") && std::chrono::steady_clock::now() < until) {
    loop_.run_once(1ms);
    const auto got = ::recv(client_.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (got > 0) interim.append(buffer, static_cast<std::size_t>(got));
  }
  ASSERT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  // Past the first byte's 600 ms and the 100's 200 ms send timeout; within 600 ms of the 100.
  wait(400ms);
  send("ping");
  const auto answer = responses(1);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 ")) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\nping")) << answer;
}

INSTANTIATE_TEST_SUITE_P(IoPaths, ShortTimeoutsTest, ::testing::Values(IoPath::epoll, IoPath::completion_ring),
                         io_path_name);

}  // namespace
}  // namespace corral::test
