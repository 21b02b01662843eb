#include <gtest/gtest.h>

#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "worker/request_parser.hpp"

namespace corral {
namespace {

namespace bhttp = boost::beast::http;

struct Parsed {
  std::size_t used = 0;
  boost::beast::error_code error;
};

Parsed put(RequestParser& parser, std::string_view bytes) {
  Parsed parsed;
  parsed.used = parser.put(boost::asio::const_buffer(bytes.data(), bytes.size()), parsed.error);
  return parsed;
}

TEST(RequestParser, KeepsTheRequestLineAndCountsHostFields) {
  RequestParser parser{HttpLimits{}};
  const std::string request = "GET /a/b?c=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n";
  const auto parsed = put(parser, request);
  ASSERT_FALSE(parsed.error) << parsed.error.message();
  EXPECT_EQ(parsed.used, request.size());
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.verb(), bhttp::verb::get);
  EXPECT_EQ(parser.method(), "GET");
  EXPECT_EQ(parser.target(), "/a/b?c=1");
  EXPECT_EQ(parser.version(), 11u);
  EXPECT_EQ(parser.host_fields(), 1u);
  EXPECT_TRUE(parser.keep_alive());
}

TEST(RequestParser, TargetOutlivesTheBufferItWasParsedFrom) {
  RequestParser parser{HttpLimits{}};
  std::string request = "POST /a-target-longer-than-a-short-string HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n";
  ASSERT_FALSE(put(parser, request).error);
  request.assign(request.size(), 'X');  // the read buffer is reused for the body
  EXPECT_FALSE(put(parser, "body").error);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.target(), "/a-target-longer-than-a-short-string");
  EXPECT_EQ(parser.method(), "POST");
}

TEST(RequestParser, IncompleteHeaderAsksForMoreAndResumesWhereItStopped) {
  RequestParser parser{HttpLimits{}};
  std::string input = "GET /split HTTP/1.1\r\nHo";
  const auto first = put(parser, input);
  EXPECT_EQ(first.error, bhttp::error::need_more);
  EXPECT_FALSE(parser.is_done());
  // The caller keeps what was not used and appends what arrives next.
  input = input.substr(first.used) + "st: x\r\n\r\n";
  const auto second = put(parser, input);
  ASSERT_FALSE(second.error) << second.error.message();
  EXPECT_EQ(second.used, input.size());
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.target(), "/split");
  EXPECT_EQ(parser.host_fields(), 1u);
}

TEST(RequestParser, StopsAtTheEndOfOneRequest) {
  RequestParser parser{HttpLimits{}};
  const std::string first = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto parsed = put(parser, first + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_FALSE(parsed.error);
  EXPECT_EQ(parsed.used, first.size());
  EXPECT_EQ(parser.target(), "/");
}

TEST(RequestParser, LimitsMapToTheirStatus) {
  HttpLimits limits;
  limits.max_header_bytes = 512;
  limits.max_body_bytes = 8;
  RequestParser headers{limits};
  const auto too_long = put(headers, "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(600, 'a') + "\r\n\r\n");
  EXPECT_EQ(status_for_parse_error(too_long.error), 431) << too_long.error.message();

  RequestParser body{limits};
  const auto too_big = put(body, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n123456789");
  EXPECT_EQ(status_for_parse_error(too_big.error), 413) << too_big.error.message();

  RequestParser garbage{limits};
  const auto bad = put(garbage, "NOT HTTP\r\n\r\n");
  EXPECT_EQ(status_for_parse_error(bad.error), 400) << bad.error.message();
}

TEST(RequestParser, HttpOneZeroAndConnectionClose) {
  RequestParser old{HttpLimits{}};
  ASSERT_FALSE(put(old, "GET / HTTP/1.0\r\n\r\n").error);
  EXPECT_EQ(old.version(), 10u);
  EXPECT_EQ(old.host_fields(), 0u);
  EXPECT_FALSE(old.keep_alive());

  RequestParser closing{HttpLimits{}};
  ASSERT_FALSE(put(closing, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n").error);
  EXPECT_EQ(closing.host_fields(), 2u);
  EXPECT_FALSE(closing.keep_alive());
}

}  // namespace
}  // namespace corral
