// The seed's answer and HTTP/1.1 behaviour, over real sockets, against the real binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "integration/io_paths.hpp"
#include "support/corral_instance.hpp"
#include "support/http_client.hpp"

namespace corral::test {
namespace {

// Every case runs with the workers on epoll and on io_uring.
class Serving : public ::testing::TestWithParam<IoPath> {
 protected:
  static std::unique_ptr<CorralInstance> start(std::vector<std::string> flags, unsigned workers) {
    return CorralInstance::start(with_io(GetParam(), std::move(flags)), workers);
  }
};

TEST_P(Serving, AnswersWithWorkerPidAndSupervisorAsParent) {
  auto corral = start({}, 2);
  const auto response = http_request(corral->port, "GET", "/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("content-type"), "text/plain");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(response->body, match, std::regex(R"(I am worker, pid:(\d+), ppid:(\d+))")))
      << response->body;
  EXPECT_EQ(std::stoi(match[2]), corral->supervisor_pid());
  const auto workers = corral->workers();
  EXPECT_EQ(workers.size(), 2u);
  EXPECT_NE(std::find(workers.begin(), workers.end(), std::stoi(match[1])), workers.end());
  for (const pid_t worker : workers) {
    EXPECT_EQ(holds_io_uring(worker), GetParam() == IoPath::io_uring) << corral->process->output();
  }
}

TEST_P(Serving, HealthzNotFoundAndMethodNotAllowed) {
  auto corral = start({}, 1);
  const auto health = http_request(corral->port, "GET", "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");

  const auto missing = http_request(corral->port, "GET", "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  const auto post = http_request(corral->port, "POST", "/");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->header("allow"), "GET, HEAD");

  const auto debug = http_request(corral->port, "GET", "/debug/throw");
  ASSERT_TRUE(debug);
  EXPECT_EQ(debug->status, 404) << "debug routes must be off by default";
}

TEST_P(Serving, HeadSendsHeadersWithoutBody) {
  auto corral = start({}, 1);
  RawConnection connection(corral->port);
  connection.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto head = connection.read_response(5s, /*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), std::to_string(std::string("I am worker, pid:, ppid:").size() +
                                                           std::to_string(corral->workers().at(0)).size() +
                                                           std::to_string(corral->supervisor_pid()).size()));
  // Had HEAD carried a body, it would be read here as the next response's status line.
  const auto next = connection.read_response(5s);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, "ok");
}

TEST_P(Serving, KeepAliveAndPipelinedRequestsAnsweredInOrder) {
  auto corral = start({}, 1);
  RawConnection connection(corral->port);
  connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto first = connection.read_response(5s);
  const auto second = connection.read_response(5s);
  const auto third = connection.read_response(5s);
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->body, "ok");
  EXPECT_EQ(second->status, 404);
  EXPECT_EQ(third->status, 200);
  EXPECT_TRUE(third->body.starts_with("I am worker"));
  // Still open: one more request on the same connection.
  connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto fourth = connection.read_response(5s);
  ASSERT_TRUE(fourth);
  EXPECT_EQ(fourth->status, 200);
}

TEST_P(Serving, HttpOneZeroClosesUnlessKeepAliveAsked) {
  auto corral = start({}, 1);
  RawConnection plain(corral->port);
  plain.send("GET /healthz HTTP/1.0\r\n\r\n");
  const auto response = plain.read_response(5s);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(plain.wait_closed(5s));

  RawConnection kept(corral->port);
  kept.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(kept.read_response(5s));
  kept.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const auto again = kept.read_response(5s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_P(Serving, IdleKeepAliveConnectionIsClosedAfterTimeout) {
  auto corral = start({"--keepalive-timeout", "0.3"}, 1);
  RawConnection connection(corral->port);
  connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(connection.read_response(5s));
  EXPECT_TRUE(connection.wait_closed(5s));
  EXPECT_TRUE(connection.unread().empty()) << "an idle close sends nothing";
}

TEST_P(Serving, DebugSleepAnswersLaterWithoutBlockingTheWorker) {
  auto corral = start({"--enable-debug-routes"}, 1);
  EXPECT_TRUE(corral->process->wait_for_line(std::regex("debug routes are enabled"), 1s));
  RawConnection slow(corral->port);
  slow.send("GET /debug/sleep?ms=1500 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("/debug/sleep: answering in 1500 ms"), 5s));
  // The single worker answers others while the slow one waits.
  const auto fast = http_request(corral->port, "GET", "/healthz", 1s);
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->status, 200);
  EXPECT_TRUE(slow.unread().empty());
  const auto slept = slow.read_response(5s);
  ASSERT_TRUE(slept);
  EXPECT_EQ(slept->status, 200);
  EXPECT_EQ(slept->body, "slept 1500 ms\n");

  const auto bad = http_request(corral->port, "GET", "/debug/sleep?ms=soon");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

INSTANTIATE_TEST_SUITE_P(IoPaths, Serving, ::testing::Values(IoPath::epoll, IoPath::io_uring), io_path_name);

}  // namespace
}  // namespace corral::test
