#include <gtest/gtest.h>

#include <stdexcept>

#include "http/router.hpp"
#include "http/routes.hpp"

namespace corral::http {
namespace {

Response dispatch(const Router& router, std::string_view method, std::string_view target) {
  Response response;
  router.dispatch(Request{method, target}, response);
  return response;
}

TEST(Router, AnswersTheSeedsTextCharacterForCharacter) {
  const auto router = make_router({1234, 1200, false});
  const auto response = dispatch(router, "GET", "/");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain");
  EXPECT_EQ(response.body, "I am worker, pid:1234, ppid:1200");
}

TEST(Router, HealthzAndHeadWhereverGetWorks) {
  const auto router = make_router({1, 2, false});
  EXPECT_EQ(dispatch(router, "GET", "/healthz").body, "ok");
  EXPECT_EQ(dispatch(router, "HEAD", "/healthz").status, 200);
  EXPECT_EQ(dispatch(router, "HEAD", "/").status, 200);
}

TEST(Router, UnknownPathIs404) {
  const auto router = make_router({1, 2, false});
  EXPECT_EQ(dispatch(router, "GET", "/missing").status, 404);
  EXPECT_EQ(dispatch(router, "GET", "/healthz/").status, 404);
}

TEST(Router, WrongMethodIs405WithAllow) {
  const auto router = make_router({1, 2, false});
  const auto response = dispatch(router, "DELETE", "/");
  EXPECT_EQ(response.status, 405);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].first, "Allow");
  EXPECT_EQ(response.headers[0].second, "GET, HEAD");
}

TEST(Router, QueryStringDoesNotChangeTheRoute) {
  const auto router = make_router({1, 2, false});
  EXPECT_EQ(dispatch(router, "GET", "/healthz?verbose=1").status, 200);
}

TEST(Router, DebugRoutesOnlyWhenEnabled) {
  const auto off = make_router({1, 2, false});
  for (const auto* path : {"/debug/throw", "/debug/segv", "/debug/sleep?ms=1", "/debug/hang"}) {
    EXPECT_EQ(dispatch(off, "GET", path).status, 404) << path;
  }
  const auto on = make_router({1, 2, true});
  const auto sleep = dispatch(on, "GET", "/debug/sleep?ms=250");
  EXPECT_EQ(sleep.status, 200);
  EXPECT_EQ(sleep.delay, std::chrono::milliseconds(250));
}

TEST(Router, DebugThrowProducesTheAnswerThenThrows) {
  const auto router = make_router({7, 3, true});
  Response response;
  EXPECT_THROW(router.dispatch(Request{"GET", "/debug/throw"}, response), std::runtime_error);
  EXPECT_TRUE(response.produced()) << "the answer built before the throw is kept for the client";
  EXPECT_EQ(response.body, "I am worker, pid:7, ppid:3");
}

TEST(Router, BadSleepParameterIsAClientErrorNotACrash) {
  const auto router = make_router({1, 2, true});
  EXPECT_EQ(dispatch(router, "GET", "/debug/sleep").status, 400);
  EXPECT_EQ(dispatch(router, "GET", "/debug/sleep?ms=abc").status, 400);
  EXPECT_EQ(dispatch(router, "GET", "/debug/sleep?ms=-5").status, 400);
  EXPECT_EQ(dispatch(router, "GET", "/debug/sleep?ms=999999999").status, 400);
}

TEST(Router, OwnRoutesWithOtherMethods) {
  Router router;
  router.add("/items", {"POST", "PUT"}, [](const Request&, Response& response) { response = Response::text(201, ""); });
  EXPECT_EQ(dispatch(router, "POST", "/items").status, 201);
  const auto head = dispatch(router, "HEAD", "/items");
  EXPECT_EQ(head.status, 405) << "HEAD comes with GET only";
  EXPECT_EQ(head.headers.at(0).second, "POST, PUT");
}

TEST(QueryParameter, FindsNamedValues) {
  EXPECT_EQ(query_parameter("ms=20", "ms"), "20");
  EXPECT_EQ(query_parameter("a=1&ms=20&b", "ms"), "20");
  EXPECT_EQ(query_parameter("a=1&b", "b"), "");
  EXPECT_EQ(query_parameter("a=1", "ms"), std::nullopt);
  EXPECT_EQ(query_parameter("", "ms"), std::nullopt);
  EXPECT_EQ(query_parameter("mss=1", "ms"), std::nullopt);
}

}  // namespace
}  // namespace corral::http
