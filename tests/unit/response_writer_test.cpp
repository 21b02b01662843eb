#include <gtest/gtest.h>

#include "http/response_writer.hpp"

namespace corral::http {
namespace {

const std::string date = "Tue, 24 Nov 2026 16:00:00 GMT";

Response text(int status, std::string_view body) {
  Response response;
  response.text(status, body);
  return response;
}

std::string written(const Response& response, unsigned version, bool keep_alive, bool head = false) {
  std::string out;
  write_response(response, version, keep_alive, head, date, out);
  return out;
}

TEST(ResponseWriter, AppendsSoThatPipelinedResponsesGoOutInOneWrite) {
  std::string out;
  write_response(text(200, "first"), 11, true, false, date, out);
  const auto first = out;
  write_response(text(200, "second"), 11, true, false, date, out);
  ASSERT_TRUE(out.starts_with(first));
  EXPECT_TRUE(out.substr(first.size()).starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(out.ends_with("\r\n\r\nsecond"));
}

TEST(ResponseWriter, WritesStatusHeadersAndBody) {
  EXPECT_EQ(written(text(200, "ok"), 11, true),
            "HTTP/1.1 200 OK\r\nServer: corral\r\nDate: " + date +
                "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\nok");
}

TEST(ResponseWriter, ExtraHeadersAndClose) {
  auto response = text(405, "Method Not Allowed\n");
  response.header("Allow", "GET, HEAD");
  EXPECT_EQ(written(response, 11, false),
            "HTTP/1.1 405 Method Not Allowed\r\nServer: corral\r\nDate: " + date +
                "\r\nContent-Type: text/plain; charset=utf-8\r\nAllow: GET, HEAD\r\nContent-Length: 19\r\nConnection: close\r\n\r\n"
                "Method Not Allowed\n");
}

TEST(ResponseWriter, HeadHasTheLengthButNoBody) {
  const auto out = written(text(200, "twelve bytes"), 11, true, /*head=*/true);
  EXPECT_NE(out.find("Content-Length: 12\r\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\r\n\r\n"));
}

TEST(ResponseWriter, HttpOneZeroKeepAliveIsExplicit) {
  EXPECT_NE(written(text(200, ""), 10, true).find("HTTP/1.0 200 OK\r\n"), std::string::npos);
  EXPECT_NE(written(text(200, ""), 10, true).find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_NE(written(text(200, ""), 10, false).find("Connection: close\r\n"), std::string::npos)
      << "HTTP/1.0 closes by default, and says so";
}

TEST(ResponseWriter, NoContentHasNeitherBodyNorLength) {
  Response response;
  response.status(204).body("ignored");
  const auto out = written(response, 11, true);
  EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
  EXPECT_EQ(out.find("Content-Type"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("\r\n\r\n")) << out;
}

TEST(ResponseWriter, HandlerFieldsAndCookiesAreWritten) {
  Response response;
  response.json(201, "{}").header("Location", "/users/7").set_cookie({"sid", "abc"});
  const auto out = written(response, 11, true);
  EXPECT_NE(out.find("HTTP/1.1 201 Created\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nLocation: /users/7\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nSet-Cookie: sid=abc; Path=/; HttpOnly; SameSite=Lax\r\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace corral::http
