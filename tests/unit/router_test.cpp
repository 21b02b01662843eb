#include <gtest/gtest.h>

#include <stdexcept>

#include "corral/loop.hpp"
#include "http/request_access.hpp"
#include "http/response_access.hpp"
#include "http/router.hpp"

namespace corral::http {
namespace {

using detail::RequestAccess;

struct NoLoop final : Loop {
  void after(std::chrono::milliseconds, std::function<void()>) override {}
};

// A request as the parser leaves it.
struct Dispatched {
  Request request;
  Response response;
};

std::unique_ptr<Dispatched> dispatch(const Router& router, std::string_view method, std::string_view target) {
  static NoLoop loop;
  auto result = std::make_unique<Dispatched>();
  RequestAccess::bind(result->request, loop, -1);
  RequestAccess::reset(result->request);
  RequestAccess::set_request_line(result->request, method, target, 1);
  RequestAccess::finish_head(result->request);
  router.dispatch(result->request, result->response);
  return result;
}

Handler answer(std::string text) {
  return [text](const Request&, Response& response) { response.text(200, text); };
}

TEST(Router, LiteralPathsAndHeadWhereverGet) {
  Router router;
  router.add("GET", "/", answer("root"));
  router.add("GET", "/healthz", answer("ok"));
  EXPECT_EQ(dispatch(router, "GET", "/")->response.body(), "root");
  EXPECT_EQ(dispatch(router, "GET", "/healthz?verbose=1")->response.body(), "ok");
  EXPECT_EQ(dispatch(router, "HEAD", "/healthz")->response.status(), 200);
  EXPECT_EQ(dispatch(router, "GET", "/healthz/")->response.status(), 404);
  EXPECT_EQ(dispatch(router, "GET", "/missing")->response.status(), 404);
}

TEST(Router, WrongMethodIs405WithAllowListingEveryMethodOfThePath) {
  Router router;
  router.add("GET", "/items", answer("list"));
  router.add("POST", "/items", answer("made"));
  const auto result = dispatch(router, "DELETE", "/items");
  EXPECT_EQ(result->response.status(), 405);
  ASSERT_EQ(result->response.headers().size(), 1u);
  EXPECT_EQ(result->response.headers()[0].first, "Allow");
  EXPECT_EQ(result->response.headers()[0].second, "GET, HEAD, POST");
  Router post_only;
  post_only.add("POST", "/items", answer("made"));
  EXPECT_EQ(dispatch(post_only, "HEAD", "/items")->response.status(), 405) << "HEAD comes with GET only";
}

TEST(Router, PathParametersArePercentDecoded) {
  Router router;
  router.add("GET", "/users/{id}/posts/{post_id}", [](const Request& request, Response& response) {
    response.text(200, std::string(*request.param("id")) + "|" + std::string(*request.param("post_id")));
    EXPECT_EQ(request.param("absent"), std::nullopt);
  });
  EXPECT_EQ(dispatch(router, "GET", "/users/7/posts/a%20b%2Fc")->response.body(), "7|a b/c");
  EXPECT_EQ(dispatch(router, "GET", "/users//posts/1")->response.status(), 404) << "a parameter is never empty";
  EXPECT_EQ(dispatch(router, "GET", "/users/7/posts")->response.status(), 404);
}

TEST(Router, TheMoreLiteralRouteWins) {
  Router router;
  router.add("GET", "/users/{id}", answer("by id"));
  router.add("GET", "/users/me", answer("me"));
  EXPECT_EQ(dispatch(router, "GET", "/users/me")->response.body(), "me");
  EXPECT_EQ(dispatch(router, "GET", "/users/9")->response.body(), "by id");
  EXPECT_EQ(dispatch(router, "GET", "/users/%6De")->response.body(), "me") << "literals match decoded segments";
}

TEST(Router, AbsoluteFormTargetsRouteOnTheirPath) {
  Router router;
  router.add("GET", "/healthz", answer("ok"));
  EXPECT_EQ(dispatch(router, "GET", "http://a.example/healthz?x=1")->response.body(), "ok");
}

TEST(Router, ParameterNamesDoNotMakeARouteNew) {
  Router router;
  router.add("GET", "/a/{x}", answer(""));
  EXPECT_THROW(router.add("GET", "/a/{y}", answer("")), std::invalid_argument);
}

TEST(Router, MalformedPatternsAndDuplicatesAreRefused) {
  Router router;
  router.add("GET", "/a/{id}", answer(""));
  EXPECT_THROW(router.add("GET", "/a/{other}", answer("")), std::invalid_argument) << "same shape, same method";
  EXPECT_NO_THROW(router.add("POST", "/a/{id}", answer("")));
  for (const auto* pattern : {"a", "/a/{", "/a/{}", "/a/{b-c}", "/a/x{y}", "/{p}/{p}", "/a?b"}) {
    EXPECT_THROW(router.add("GET", pattern, answer("")), std::invalid_argument) << pattern;
  }
  EXPECT_THROW(router.add("GET", "/h", nullptr), std::invalid_argument);
  EXPECT_THROW(router.add("BAD METHOD", "/h", answer("")), std::invalid_argument);
}

TEST(Router, ClientErrorBecomesItsStatusAndOtherExceptionsPropagate) {
  Router router;
  router.add("GET", "/bad", [](const Request&, Response& response) {
    response.text(200, "half done");
    throw ClientError(422, "id must be a number");
  });
  router.add("GET", "/crash", [](const Request&, Response& response) {
    response.text(200, "answer first");
    throw std::runtime_error("then fail");
  });
  const auto bad = dispatch(router, "GET", "/bad");
  EXPECT_EQ(bad->response.status(), 422);
  EXPECT_EQ(bad->response.body(), "id must be a number\n");
  EXPECT_THROW(dispatch(router, "GET", "/crash"), std::runtime_error);
  EXPECT_THROW(ClientError(500, "not a client error"), std::invalid_argument);
}

}  // namespace
}  // namespace corral::http

namespace corral {
namespace {

TEST(RequestAccess, ResetLeavesNoViewOfThePreviousRequest) {
  Request request;
  detail::RequestAccess::set_request_line(request, "GET", "/first?x=1", 1);
  detail::RequestAccess::finish_head(request);
  EXPECT_EQ(request.path(), "/first");
  detail::RequestAccess::reset(request);
  // A request refused before its head is whole (the access log reads it) shows nothing.
  detail::RequestAccess::set_request_line(request, "POST", "/" + std::string(4096, 'x'), 1);
  EXPECT_EQ(request.method(), "");
  EXPECT_EQ(request.target(), "");
  EXPECT_EQ(detail::RequestAccess::raw_path(request), "");
  EXPECT_EQ(request.query_string(), "");
}

}  // namespace
}  // namespace corral
