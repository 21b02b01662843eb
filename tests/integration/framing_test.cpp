// How requests arrive on the wire does not change how they are answered: split across
// reads at any byte, bodies in pieces, many requests in one write.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"

namespace corral::test {
namespace {

// Sends `bytes` in pieces of `piece` bytes. The pause between pieces shapes the input
// so that the worker usually reads each piece on its own; the assertions hold however
// the kernel groups them.
void send_in_pieces(RawConnection& connection, const std::string& bytes, std::size_t piece) {
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    connection.send(std::string_view(bytes).substr(at, piece));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class Framing : public ::testing::Test {
 protected:
  void SetUp() override { corral_ = CorralInstance::start({}, 1); }

  // Sends `post` (to a GET-only path) and a GET after it, in pieces of `piece` bytes:
  // the POST's body must be read to its end for the GET to be found.
  void expect_post_then_get(const std::string& post, std::size_t piece) {
    RawConnection connection(corral_->port);
    send_in_pieces(connection, post + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", piece);
    const auto post_answer = connection.read_response(5s);
    const auto get_answer = connection.read_response(5s);
    ASSERT_TRUE(post_answer && get_answer) << corral_->process->output();
    EXPECT_EQ(post_answer->status, 405);
    EXPECT_EQ(get_answer->status, 200);
    EXPECT_EQ(get_answer->body, "ok");
  }

  std::unique_ptr<CorralInstance> corral_;
};

TEST_F(Framing, RequestSplitAtEveryFewBytesIsAnswered) {
  RawConnection connection(corral_->port);
  send_in_pieces(connection, "GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: framing-test\r\n\r\n", 3);
  const auto response = connection.read_response(5s);
  ASSERT_TRUE(response) << corral_->process->output();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok");
}

TEST_F(Framing, BodyInPiecesThenAPipelinedRequest) {
  expect_post_then_get("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n0123456789"
                       "0123456789",
                       7);
}

TEST_F(Framing, ChunkedBodyInPiecesIsReadToItsEnd) {
  expect_post_then_get("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                       4);
}

// RFC 9110 §5.6.1: empty list members are skipped; ", chunked" and "chunked," are chunked,
// and the request after the body is a request of its own.
TEST_F(Framing, EmptyTransferCodingListMembersAreSkipped) {
  expect_post_then_get("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 1000);
  expect_post_then_get("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked,\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 1000);
}

TEST_F(Framing, ThousandsOfPipelinedRequestsInOneWriteAreAnsweredInOrder) {
  // More requests than one read takes, and more answers than go out in one write.
  constexpr int count = 3000;
  std::string requests;
  for (int i = 0; i < count; ++i) {
    requests += (i % 2 == 0) ? "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" : "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  RawConnection connection(corral_->port);
  connection.send(requests);
  for (int i = 0; i < count; ++i) {
    const auto response = connection.read_response(5s);
    ASSERT_TRUE(response) << "answer " << i << " missing";
    ASSERT_EQ(response->status, i % 2 == 0 ? 200 : 404) << "answer " << i;
  }
  connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto last = connection.read_response(5s);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->body, "ok");
}

TEST_F(Framing, RequestsAfterConnectionCloseAreNotAnswered) {
  RawConnection connection(corral_->port);
  connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                  "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto response = connection.read_response(5s);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_TRUE(connection.wait_closed(5s));
  EXPECT_TRUE(connection.unread().empty()) << "nothing after the last answer";
}

}  // namespace
}  // namespace corral::test
