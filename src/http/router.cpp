#include "http/router.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace corral::http {

std::string_view Request::query() const {
  const auto mark = target.find('?');
  return mark == std::string_view::npos ? std::string_view{} : target.substr(mark + 1);
}

Response Response::text(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

void Router::add(std::string path, std::vector<std::string> methods, Handler handler) {
  if (std::find(methods.begin(), methods.end(), "GET") != methods.end() &&
      std::find(methods.begin(), methods.end(), "HEAD") == methods.end()) {
    methods.emplace_back("HEAD");
  }
  auto allow = fmt::format("{}", fmt::join(methods, ", "));
  routes_.push_back(Route{std::move(path), std::move(methods), std::move(allow), std::move(handler)});
}

void Router::dispatch(const Request& request, Response& response) const {
  const auto path = request.path();
  const auto route = std::find_if(routes_.begin(), routes_.end(),
                                  [&](const Route& candidate) { return candidate.path == path; });
  if (route == routes_.end()) {
    response = Response::text(404, "Not Found\n");
    return;
  }
  if (std::find(route->methods.begin(), route->methods.end(), request.method) == route->methods.end()) {
    response = Response::text(405, "Method Not Allowed\n");
    response.headers.emplace_back("Allow", route->allow);
    return;
  }
  try {
    route->handler(request, response);
  } catch (const ClientError& error) {
    response = Response::text(error.status(), std::string(error.what()) + "\n");
  }
}

std::optional<std::string_view> query_parameter(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto equals = pair.find('=');
    if (pair.substr(0, equals) == name) {
      return equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace corral::http
