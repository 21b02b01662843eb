#include <gtest/gtest.h>

#include <stdexcept>

#include "corral/response.hpp"
#include "http/response_access.hpp"

namespace corral {
namespace {

TEST(Response, DefaultsAndSetters) {
  Response response;
  EXPECT_EQ(response.status(), 200);
  EXPECT_EQ(response.content_type(), "text/plain; charset=utf-8");
  EXPECT_FALSE(detail::ResponseAccess::produced(response));
  response.status(201).body("made").content_type("text/html");
  EXPECT_TRUE(detail::ResponseAccess::produced(response));
  EXPECT_EQ(response.status(), 201);
  EXPECT_EQ(response.body(), "made");
  EXPECT_EQ(response.content_type(), "text/html");
  response.json(200, R"({"a":1})");
  EXPECT_EQ(response.content_type(), "application/json");
  response.text(404, "gone");
  EXPECT_EQ(response.content_type(), "text/plain; charset=utf-8");
  std::string moved(100, 'x');
  response.body(std::move(moved));
  EXPECT_EQ(response.body().size(), 100u);
  response.header("Content-Type", "image/png");
  EXPECT_EQ(response.content_type(), "image/png") << "Content-Type set as a field is the type";
}

TEST(Response, RefusesWhatWouldCorruptTheAnswer) {
  Response response;
  EXPECT_THROW(response.status(99), std::invalid_argument);
  EXPECT_THROW(response.status(100), std::invalid_argument) << "an interim status as the final answer";
  EXPECT_THROW(response.status(600), std::invalid_argument);
  EXPECT_THROW(response.header("X-Bad", "a\r\nSet-Cookie: evil=1"), std::invalid_argument);
  EXPECT_THROW(response.header("Bad Name", "v"), std::invalid_argument);
  EXPECT_THROW(response.header("", "v"), std::invalid_argument);
  for (const auto* reserved : {"Content-Length", "transfer-encoding", "Connection", "Date", "Server"}) {
    EXPECT_THROW(response.header(reserved, "1"), std::invalid_argument) << reserved;
  }
  EXPECT_THROW(response.content_type("text/html\nX: y"), std::invalid_argument);
  // Empty is how a response keeps the default: refused, and the type stays as it was.
  response.content_type("text/html");
  EXPECT_THROW(response.content_type(""), std::invalid_argument);
  EXPECT_EQ(response.content_type(), "text/html");
  EXPECT_TRUE(response.headers().empty());
}

TEST(Response, CookiesCarryTheirAttributes) {
  Response response;
  response.set_cookie({"sid", "abc123"});
  Cookie full{"pref", "dark"};
  full.path = "/app";
  full.max_age = std::chrono::hours(1);
  full.http_only = false;
  full.secure = true;
  full.same_site = SameSite::strict;
  response.set_cookie(full);
  Cookie removal{"old", ""};
  removal.max_age = std::chrono::seconds(0);
  response.set_cookie(removal);
  ASSERT_EQ(response.headers().size(), 3u);
  EXPECT_EQ(response.headers()[0].second, "sid=abc123; Path=/; HttpOnly; SameSite=Lax");
  EXPECT_EQ(response.headers()[1].second, "pref=dark; Path=/app; Max-Age=3600; Secure; SameSite=Strict");
  EXPECT_EQ(response.headers()[2].second, "old=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
}

TEST(Response, CookiesThatWouldBreakTheFieldAreRefused) {
  Response response;
  EXPECT_THROW(response.set_cookie({"sid", "a;b"}), std::invalid_argument);
  EXPECT_THROW(response.set_cookie({"sid", "a b"}), std::invalid_argument);
  EXPECT_THROW(response.set_cookie({"bad name", "v"}), std::invalid_argument);
  Cookie path{"sid", "v"};
  path.path = "/; Domain=evil";
  EXPECT_THROW(response.set_cookie(path), std::invalid_argument);
  Cookie none{"sid", "v"};
  none.same_site = SameSite::none;
  EXPECT_THROW(response.set_cookie(none), std::invalid_argument) << "SameSite=None needs Secure";
  none.secure = true;
  EXPECT_NO_THROW(response.set_cookie(none));
}

TEST(Response, DeferOutsideAHandlerIsALogicError) {
  Response response;
  EXPECT_THROW((void)response.defer(), std::logic_error);
  Responder empty;
  EXPECT_FALSE(empty.pending());
  empty.send(Response{});  // nothing to answer: nothing happens
}

TEST(ClientError, OnlyFourHundreds) {
  EXPECT_EQ(ClientError(404, "no such user").status(), 404);
  EXPECT_STREQ(ClientError(400, "bad id").what(), "bad id");
  EXPECT_THROW(ClientError(399, "x"), std::invalid_argument);
  EXPECT_THROW(ClientError(503, "x"), std::invalid_argument);
}

}  // namespace
}  // namespace corral
