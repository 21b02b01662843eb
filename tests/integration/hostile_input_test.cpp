// Hostile input (issue 11): requests that try to hide a second request in the first
// one's body, malformed Host fields, and clients that half-close or expect 100
// Continue. Each case here failed before the parser checked these rules itself.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"

namespace corral::test {
namespace {

class HostileInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { corral_ = CorralInstance::start({}, 1); }
  static void TearDownTestSuite() { corral_.reset(); }

  // Sends `bytes` on a new connection; expects one answer with `status`, the
  // connection closed after it, and nothing else answered: whatever came after the
  // refused request was never taken for a request.
  static void expect_refused(const std::string& bytes, int status) {
    RawConnection connection(corral_->port);
    connection.send(bytes);
    const auto response = connection.read_response(5s);
    ASSERT_TRUE(response) << bytes;
    EXPECT_EQ(response->status, status) << bytes;
    EXPECT_EQ(response->header("connection"), "close") << bytes;
    EXPECT_TRUE(connection.wait_closed(5s)) << bytes;
    EXPECT_EQ(connection.unread(), "") << "a second answer: a smuggled request was served\n" << bytes;
  }

  static std::optional<HttpResponse> get_with_host(const std::string& host_line) {
    RawConnection connection(corral_->port);
    connection.send("GET /healthz HTTP/1.1\r\n" + host_line + "\r\nConnection: close\r\n\r\n");
    return connection.read_response(5s);
  }

  static inline std::unique_ptr<CorralInstance> corral_;
};

const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

TEST_F(HostileInput, UnknownTransferCodingIs501EvenWithAContentLength) {
  // Beast alone framed this body by its Content-Length and served /smuggled.
  expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\nContent-Length: " +
                     std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled,
                 501);
  expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n" + smuggled, 501);
  expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled, 501);
}

TEST_F(HostileInput, ChunkedNotLastOrTwiceIs400) {
  expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + smuggled, 400);
  expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n" + smuggled, 400);
  expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "0\r\n\r\n" + smuggled,
                 400);
  expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, ,identity\r\n\r\n0\r\n\r\n" + smuggled, 400);
}

TEST_F(HostileInput, TransferEncodingInHttp10IsRefusedAndCloses) {
  expect_refused("POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
                 400);
}

TEST_F(HostileInput, TransferEncodingWithContentLengthIsRefused) {
  // RFC 9112 §6.1 lets a server refuse it; nginx does too.
  expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
                     smuggled,
                 400);
}

TEST_F(HostileInput, InvalidHostIs400) {
  for (const auto* host : {"Host: a, b", "Host: a b", "Host: a/b", "Host: u@a", "Host: a:b", "Host: a:99999x",
                           "Host: [::1", "Host: a\r\n b"}) {
    const auto response = get_with_host(host);
    ASSERT_TRUE(response) << host;
    EXPECT_EQ(response->status, 400) << host;
  }
  for (const auto* host : {"Host: a.example", "Host: a.example:8080", "Host: 127.0.0.1:3000", "Host: [::1]:3000",
                           "Host: xn--bcher-kva.example", "Host:"}) {
    const auto response = get_with_host(host);
    ASSERT_TRUE(response) << host;
    EXPECT_EQ(response->status, 200) << host;
  }
}

TEST_F(HostileInput, ObsFoldIsRefusedInAnyField) {
  expect_refused("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n", 400);
  expect_refused("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n\ttwo\r\n\r\n", 400);
}

TEST_F(HostileInput, AbsoluteFormTargetIsRoutedOnItsPath) {
  RawConnection connection(corral_->port);
  connection.send("GET http://a/healthz?x=1 HTTP/1.1\r\nHost: a\r\n\r\nGET HTTP://A HTTP/1.1\r\nHost: a\r\n\r\n");
  const auto health = connection.read_response(5s);
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");
  const auto root = connection.read_response(5s);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 200) << "no path is /";
}

// The client waits for 100 Continue or the final status and sends no body: an answer
// within expect_refused()'s 5 s (the request timeout is 10 s) came at once.
TEST_F(HostileInput, ExpectContinueGetsTheFinalStatusAtOnceForAnUnroutedRequest) {
  expect_refused("POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n", 405);
}

TEST_F(HostileInput, ExpectContinueTooLargeGets413AtOnce) {
  expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999\r\nExpect: 100-continue\r\n\r\n", 413);
}

TEST_F(HostileInput, HalfARequestAndAFinTogetherAreAnsweredAtOnce) {
  // The FIN arrives with the bytes: an edge-triggered read that returned less than
  // the buffer must not be taken to mean the peer is still there.
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int i = 0; i < 8; ++i) {
    connections.push_back(std::make_unique<RawConnection>(corral_->port));
    connections.back()->send("GET /healthz HTTP/1.1\r\nHo");
    connections.back()->shutdown_write();
  }
  for (auto& connection : connections) {
    const auto response = connection->read_response(2s);
    ASSERT_TRUE(response) << "the half request waited for the request timeout";
    EXPECT_EQ(response->status, 400);
    EXPECT_TRUE(connection->wait_closed(2s));
  }
  // A whole request and a FIN together: answered, then closed.
  RawConnection whole(corral_->port);
  whole.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  whole.shutdown_write();
  const auto response = whole.read_response(2s);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(whole.wait_closed(2s));
}

}  // namespace
}  // namespace corral::test
