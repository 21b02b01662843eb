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
  parsed.used = parser.feed(bytes, parsed.error);
  return parsed;
}

TEST(RequestParser, KeepsTheRequestLineAndCountsHostFields) {
  Request request;
  RequestParser parser{HttpLimits{}, request};
  const std::string bytes = "GET /a/b?c=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n";
  const auto parsed = put(parser, bytes);
  ASSERT_FALSE(parsed.error) << parsed.error.message();
  EXPECT_EQ(parsed.used, bytes.size());
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.verb(), bhttp::verb::get);
  EXPECT_EQ(request.method(), "GET");
  EXPECT_EQ(request.target(), "/a/b?c=1");
  EXPECT_EQ(parser.version(), 11u);
  EXPECT_EQ(parser.host_fields(), 1u);
  EXPECT_TRUE(parser.keep_alive());
}

TEST(RequestParser, TargetOutlivesTheBufferItWasParsedFrom) {
  Request request;
  RequestParser parser{HttpLimits{}, request};
  std::string bytes = "POST /a-target-longer-than-a-short-string HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n";
  ASSERT_FALSE(put(parser, bytes).error);
  bytes.assign(bytes.size(), 'X');  // the read buffer is reused for the body
  EXPECT_FALSE(put(parser, "body").error);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(request.target(), "/a-target-longer-than-a-short-string");
  EXPECT_EQ(request.method(), "POST");
  EXPECT_EQ(request.body(), "body");
}

TEST(RequestParser, IncompleteHeaderAsksForMoreAndResumesWhereItStopped) {
  Request request;
  RequestParser parser{HttpLimits{}, request};
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
  EXPECT_EQ(request.target(), "/split");
  EXPECT_EQ(parser.host_fields(), 1u);
}

TEST(RequestParser, StopsAtTheEndOfOneRequest) {
  Request request;
  RequestParser parser{HttpLimits{}, request};
  const std::string first = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto parsed = put(parser, first + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_FALSE(parsed.error);
  EXPECT_EQ(parsed.used, first.size());
  EXPECT_EQ(request.target(), "/");
}

TEST(RequestParser, LimitsMapToTheirStatus) {
  HttpLimits limits;
  limits.max_header_bytes = 512;
  limits.max_body_bytes = 8;
  Request request;
  RequestParser headers{limits, request};
  const auto too_long = put(headers, "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(600, 'a') + "\r\n\r\n");
  EXPECT_EQ(status_for_parse_error(headers, too_long.error), 431) << too_long.error.message();

  RequestParser body{limits, request};
  const auto too_big = put(body, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n123456789");
  EXPECT_EQ(status_for_parse_error(body, too_big.error), 413) << too_big.error.message();

  RequestParser garbage{limits, request};
  const auto bad = put(garbage, "NOT HTTP\r\n\r\n");
  EXPECT_EQ(status_for_parse_error(garbage, bad.error), 400) << bad.error.message();
}

TEST(RequestParser, HttpOneZeroAndConnectionClose) {
  Request request;
  RequestParser old{HttpLimits{}, request};
  ASSERT_FALSE(put(old, "GET / HTTP/1.0\r\n\r\n").error);
  EXPECT_EQ(old.version(), 10u);
  EXPECT_EQ(old.host_fields(), 0u);
  EXPECT_FALSE(old.keep_alive());

  Request second;
  RequestParser closing{HttpLimits{}, second};
  ASSERT_FALSE(put(closing, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n").error);
  EXPECT_EQ(closing.host_fields(), 2u);
  EXPECT_FALSE(closing.keep_alive());
}

TEST(RequestParser, FieldsKeepTheirCaseOrderAndRepeats) {
  Request request;
  RequestParser parser{HttpLimits{}, request};
  ASSERT_FALSE(put(parser, "GET /%7Euser/a%20b?q=a+b%26c&q=2&flag HTTP/1.1\r\nHost: x\r\nX-Tag: one\r\n"
                           "x-tag: two\r\nCookie: sid=abc; theme=\"dark\"\r\nCookie: other=1\r\n\r\n")
                   .error);
  EXPECT_EQ(request.path(), "/~user/a b");
  EXPECT_EQ(request.query_string(), "q=a+b%26c&q=2&flag");
  EXPECT_EQ(request.query("q"), "a b&c");
  EXPECT_EQ(request.query("flag"), "");
  EXPECT_EQ(request.query("absent"), std::nullopt);
  const std::vector<std::pair<std::string, std::string>> all{{"q", "a b&c"}, {"q", "2"}, {"flag", ""}};
  EXPECT_EQ(request.query_parameters(), all);
  EXPECT_EQ(request.header("X-TAG"), "one");
  EXPECT_EQ(request.header_values("x-tag"), (std::vector<std::string_view>{"one", "two"}));
  ASSERT_EQ(request.headers().size(), 5u);
  EXPECT_EQ(request.headers()[1].name, "X-Tag");
  EXPECT_EQ(request.cookie("sid"), "abc");
  EXPECT_EQ(request.cookie("theme"), "dark");
  EXPECT_EQ(request.cookie("other"), "1");
  EXPECT_EQ(request.cookie("none"), std::nullopt);
  EXPECT_EQ(request.header("absent"), std::nullopt);
}

TEST(RequestParser, AbsoluteFormRoutesOnItsPath) {
  Request request;
  RequestParser parser{HttpLimits{}, request};
  ASSERT_FALSE(put(parser, "GET http://a.example:80/healthz?x=1 HTTP/1.1\r\nHost: a.example\r\n\r\n").error);
  EXPECT_EQ(request.target(), "http://a.example:80/healthz?x=1");
  EXPECT_EQ(request.path(), "/healthz");
  EXPECT_EQ(request.query("x"), "1");
}

// The body arrives in every possible split of the bytes and is the same each time.
TEST(RequestParser, BodiesSplitAtEveryByte) {
  const std::string chunked =
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: t\r\n\r\n";
  const std::string sized = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world";
  for (const auto& whole : {chunked, sized}) {
    for (std::size_t split = 1; split < whole.size(); ++split) {
      Request request;
      RequestParser parser{HttpLimits{}, request};
      // As the connection does: what was not used is kept and the rest appended.
      std::string input = whole.substr(0, split);
      auto first = put(parser, input);
      ASSERT_TRUE(!first.error || first.error == bhttp::error::need_more) << first.error.message();
      input = input.substr(first.used) + whole.substr(split);
      while (!parser.is_done()) {
        const auto next = put(parser, input);
        ASSERT_FALSE(next.error && next.error != bhttp::error::need_more) << next.error.message() << " at " << split;
        ASSERT_TRUE(next.used > 0 || parser.is_done()) << "stuck at split " << split;
        input.erase(0, next.used);
      }
      EXPECT_EQ(request.body(), "hello world") << "split at " << split;
      EXPECT_EQ(request.path(), "/echo");
    }
  }
}

TEST(RequestParser, ObsFoldIsFoundWhereverTheHeaderIsSplit) {
  const std::string whole = "GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\nY: 1\r\n\r\n";
  for (std::size_t split = 1; split < whole.size(); ++split) {
    Request request;
    RequestParser parser{HttpLimits{}, request};
    auto input = whole.substr(0, split);
    auto first = put(parser, input);
    if (first.error && first.error != bhttp::error::need_more) {
      EXPECT_EQ(status_for_parse_error(parser, first.error), 400) << split;
      continue;
    }
    input = input.substr(first.used) + whole.substr(split);
    const auto second = put(parser, input);
    EXPECT_EQ(status_for_parse_error(parser, second.error), 400) << "split at " << split;
    EXPECT_EQ(parser.rejection_status(), 400) << "split at " << split;
  }
  Request clean;
  RequestParser parser{HttpLimits{}, clean};
  EXPECT_FALSE(put(parser, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n\n b").error)
      << "a body that looks like a fold is a body";
}

// Found by the fuzzer: an empty chunked body arriving a byte at a time aborted a worker
// built with assertions (Beast 1.74 asserts 5 bytes where 4 are fine).
TEST(RequestParser, FinalChunkInPieces) {
  Request request;
  RequestParser parser{HttpLimits{}, request};
  std::string input = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const auto* piece : {"0", "\r", "\n", "\r", "\n"}) {
    input += piece;
    const auto parsed = put(parser, input);
    ASSERT_TRUE(!parsed.error || parsed.error == bhttp::error::need_more) << parsed.error.message();
    input.erase(0, parsed.used);
  }
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(request.body(), "");
}

// Found by the fuzzer under ASan: a trailer field was appended to the request's field
// storage after the fields' views were made, and moved it under them.
TEST(RequestParser, TrailerFieldsAreDroppedAndLeaveTheFieldsIntact) {
  Request request;
  RequestParser parser{HttpLimits{}, request};
  ASSERT_FALSE(put(parser, "POST / HTTP/1.1\r\nHost: x\r\nCookie: sid=1\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "1\r\na\r\n0\r\nX-Trailer: " + std::string(500, 't') + "\r\nHost: other\r\n\r\n")
                   .error);
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(request.body(), "a");
  EXPECT_EQ(request.cookie("sid"), "1");
  EXPECT_EQ(request.header("host"), "x");
  EXPECT_EQ(request.header("x-trailer"), std::nullopt);
  EXPECT_EQ(parser.host_fields(), 1u);
}

// RFC 9110 §5.6.1: ", chunked" is the list "chunked" with an empty member before it.
TEST(RequestParser, AnEmptyMemberBeforeChunkedIsStillChunked) {
  for (const std::string field : {"Transfer-Encoding: , chunked\r\n", "Transfer-Encoding: chunked,\r\n",
                                  "Transfer-Encoding: \r\nTransfer-Encoding: chunked\r\n"}) {
    Request request;
    RequestParser parser{HttpLimits{}, request};
    const std::string bytes = "POST / HTTP/1.1\r\nHost: x\r\n" + field + "\r\n5\r\nhello\r\n0\r\n\r\n";
    const auto parsed = put(parser, bytes);
    ASSERT_FALSE(parsed.error) << field << parsed.error.message() << " " << parser.rejection_status();
    EXPECT_TRUE(parser.is_done()) << field;
    EXPECT_EQ(parsed.used, bytes.size()) << field;
    EXPECT_EQ(request.body(), "hello") << field;
  }
}

TEST(RequestParser, ChunkedBodyLargerThanTheLimitIs413) {
  HttpLimits limits;
  limits.max_body_bytes = 8;
  Request request;
  RequestParser parser{limits, request};
  const auto parsed = put(parser, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n");
  EXPECT_EQ(status_for_parse_error(parser, parsed.error), 413) << parsed.error.message();
}

TEST(RequestParser, FormBodiesAreDecoded) {
  Request request;
  RequestParser parser{HttpLimits{}, request};
  ASSERT_FALSE(put(parser, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded; "
                           "charset=utf-8\r\nContent-Length: 24\r\n\r\nuser=J%C3%BCrgen+K&x=%zz")
                   .error);
  EXPECT_EQ(request.form("user"), "J\u00fcrgen K");
  EXPECT_EQ(request.form("x"), "%zz") << "a broken escape is kept as it is";
  EXPECT_EQ(request.form("absent"), std::nullopt);

  Request json;
  RequestParser json_parser{HttpLimits{}, json};
  ASSERT_FALSE(put(json_parser, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                "Content-Length: 8\r\n\r\nuser=bob").error);
  EXPECT_EQ(json.form("user"), std::nullopt) << "not a form";
}

}  // namespace
}  // namespace corral
