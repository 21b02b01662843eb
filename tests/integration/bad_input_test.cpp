// Bad requests get a clear 4xx (or a quiet close) and the worker keeps serving.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"

namespace corral::test {
namespace {

class BadInput : public ::testing::Test {
 protected:
  // One worker, so the worker that saw the bad input is the one that must still serve.
  void SetUp() override {
    corral_ = CorralInstance::start({"--max-body-bytes", "1024", "--request-timeout", "0.5"}, 1);
  }

  void expect_still_serving() {
    const auto response = http_request(corral_->port, "GET", "/healthz", 5s);
    ASSERT_TRUE(response) << corral_->process->output();
    EXPECT_EQ(response->status, 200);
  }

  // Sends `bytes` on a new connection and expects `status`, then the connection closed.
  void expect_rejected(const std::string& bytes, int status) {
    RawConnection connection(corral_->port);
    connection.send(bytes);
    const auto response = connection.read_response(5s);
    ASSERT_TRUE(response) << corral_->process->output();
    EXPECT_EQ(response->status, status);
    EXPECT_EQ(response->header("connection"), "close");
    EXPECT_TRUE(connection.wait_closed(5s));
    expect_still_serving();
  }

  std::unique_ptr<CorralInstance> corral_;
};

TEST_F(BadInput, MalformedRequestLineIs400) {
  expect_rejected("THIS IS NOT HTTP\r\n\r\n", 400);
}

TEST_F(BadInput, HeaderBlockOverTheLimitIs431) {
  expect_rejected("GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(10000, 'a') + "\r\n\r\n", 431);
}

TEST_F(BadInput, BodyOverTheLimitIs413) {
  expect_rejected("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" + std::string(2048, 'b'), 413);
}

TEST_F(BadInput, ChunkedBodyOverTheLimitIs413) {
  expect_rejected("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + std::string(2048, 'c') +
                      "\r\n0\r\n\r\n",
                  413);
}

TEST_F(BadInput, MissingHostInHttp11Is400) {
  expect_rejected("GET / HTTP/1.1\r\n\r\n", 400);
}

TEST_F(BadInput, StalledHalfRequestGets408AfterTheReadTimeout) {
  RawConnection stalled(corral_->port);
  stalled.send("GET / HTTP/1.1\r\nHost: x\r\nX-Half");
  // Served while the stalled request waits for its timeout.
  expect_still_serving();
  const auto response = stalled.read_response(5s);
  ASSERT_TRUE(response) << corral_->process->output();
  EXPECT_EQ(response->status, 408);
  EXPECT_TRUE(stalled.wait_closed(5s));
}

TEST_F(BadInput, SilentConnectionIsClosedAfterTheReadTimeout) {
  RawConnection silent(corral_->port);
  expect_still_serving();
  EXPECT_TRUE(silent.wait_closed(5s));
  EXPECT_TRUE(silent.unread().empty()) << "a client that sent nothing gets nothing";
}

}  // namespace
}  // namespace corral::test
