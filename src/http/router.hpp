#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "corral/request.hpp"
#include "corral/response.hpp"

namespace corral::http {

using Handler = std::function<void(const Request&, Response&)>;

// Routes by method and path pattern ("/users/{id}"). Of the routes whose pattern
// matches a path, the more literal one wins ("/users/me" before "/users/{id}"). HEAD
// is served wherever GET is (the connection sends no body).
class Router {
 public:
  // Throws std::invalid_argument for a malformed pattern or a method and pattern that
  // are routed already.
  void add(std::string_view method, std::string_view pattern, Handler handler);

  // Fills `response`: the handler's answer, 404 for an unknown path, 405 with Allow for
  // a known path and another method; sets the request's path parameters. A ClientError
  // becomes its 4xx; other exceptions propagate, with whatever the handler had set
  // left in `response`.
  void dispatch(Request& request, Response& response) const;
  // Fills `response` with 404 or 405 and returns true if no route serves the request;
  // runs no handler.
  bool answer_unrouted(const Request& request, Response& response) const;

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter's name
    bool parameter = false;
  };
  struct Route {
    std::vector<Segment> segments;
    std::string literal;  // the whole pattern, if it has no parameter: one comparison
    bool has_parameters = false;
    std::string method;
    Handler handler;
  };
  static bool path_matches(const Route& route, std::string_view raw_path);
  const Route* match(std::string_view raw_path, std::string_view method) const;
  // 404, or 405 with Allow, for a request no route serves.
  void answer_no_route(std::string_view raw_path, Response& response) const;
  // The Allow field for a path no route of the method serves.
  std::string allowed_methods(std::string_view raw_path) const;

  std::vector<Route> routes_;  // most literal first
};

}  // namespace corral::http
