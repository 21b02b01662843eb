#include "http/router.hpp"

#include <algorithm>
#include <stdexcept>

#include "http/request_access.hpp"
#include "http/response_access.hpp"
#include "http/url.hpp"

namespace corral::http {
namespace {

bool is_name_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Calls `visit(segment)` for each '/'-separated segment after the leading '/'.
template <class Visit>
bool for_each_segment(std::string_view path, Visit visit) {
  if (!path.starts_with('/')) return false;
  path.remove_prefix(1);
  for (;;) {
    const auto slash = path.find('/');
    if (!visit(path.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

// `method` is one of the comma-separated names in `allow`.
bool method_listed(std::string_view allow, std::string_view method) {
  while (!allow.empty()) {
    const auto comma = allow.find(", ");
    if (allow.substr(0, comma) == method) return true;
    if (comma == std::string_view::npos) break;
    allow.remove_prefix(comma + 2);
  }
  return false;
}

bool segment_equals(std::string_view literal, std::string_view raw) {
  if (!has_escapes(raw, false)) return literal == raw;
  return percent_decode(raw, false) == literal;
}

}  // namespace

void Router::add(std::string_view method, std::string_view pattern, Handler handler) {
  const auto fail = [&](const std::string& problem) {
    throw std::invalid_argument("corral: route " + std::string(method) + " " + std::string(pattern) + ": " + problem);
  };
  if (method.empty() || method.find_first_of(" \t\r\n/") != std::string_view::npos) fail("not a method");
  if (!handler) fail("no handler");
  Route route{{}, std::string(pattern), false, std::string(method), std::move(handler)};
  if (!for_each_segment(pattern, [&](std::string_view text) {
        if (text.starts_with('{')) {
          const auto name = text.substr(1, text.size() >= 2 ? text.size() - 2 : 0);
          if (!text.ends_with('}') || name.empty() || !std::all_of(name.begin(), name.end(), is_name_character)) {
            fail("a parameter is {name}, with letters, digits and '_'");
          }
          for (const auto& segment : route.segments) {
            if (segment.parameter && segment.text == name) fail("parameter {" + std::string(name) + "} twice");
          }
          route.segments.push_back({std::string(name), true});
          route.has_parameters = true;
        } else {
          if (text.find_first_of("{}?#") != std::string_view::npos) fail("'{', '}', '?' or '#' in a literal segment");
          route.segments.push_back({std::string(text), false});
        }
        return true;
      })) {
    fail("a pattern starts with '/'");
  }
  for (const auto& other : routes_) {
    const bool same_shape = other.segments.size() == route.segments.size() &&
                            std::equal(other.segments.begin(), other.segments.end(), route.segments.begin(),
                                       [](const Segment& a, const Segment& b) {
                                         return a.parameter == b.parameter && (a.parameter || a.text == b.text);
                                       });
    if (same_shape && other.method == route.method) fail("routed already");
  }
  // Most literal first: at the first segment where two patterns differ in kind, the
  // literal one comes first. stable: among equals, the first added wins.
  const auto more_literal = [](const Route& a, const Route& b) {
    const auto n = std::min(a.segments.size(), b.segments.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (a.segments[i].parameter != b.segments[i].parameter) return !a.segments[i].parameter;
    }
    return false;
  };
  routes_.insert(std::upper_bound(routes_.begin(), routes_.end(), route, more_literal), std::move(route));
}

bool Router::path_matches(const Route& route, std::string_view raw_path) {
  if (!route.has_parameters && raw_path == route.literal) return true;
  if (!route.has_parameters && !has_escapes(raw_path, false)) return false;
  std::size_t index = 0;
  return for_each_segment(raw_path,
                          [&](std::string_view text) {
                            if (index >= route.segments.size()) return false;
                            const auto& segment = route.segments[index++];
                            return segment.parameter ? !text.empty() : segment_equals(segment.text, text);
                          }) &&
         index == route.segments.size();
}

const Router::Route* Router::match(std::string_view raw_path, std::string_view method) const {
  for (const auto& route : routes_) {
    if ((route.method == method || (method == "HEAD" && route.method == "GET")) && path_matches(route, raw_path)) {
      return &route;
    }
  }
  return nullptr;
}

std::string Router::allowed_methods(std::string_view raw_path) const {
  std::string allow;
  for (const auto& route : routes_) {
    if (!path_matches(route, raw_path)) continue;
    if (!method_listed(allow, route.method)) {
      if (!allow.empty()) allow += ", ";
      allow += route.method;
      if (route.method == "GET" && !method_listed(allow, "HEAD")) allow += ", HEAD";
    }
  }
  return allow;
}

bool Router::answer_unrouted(const Request& request, Response& response) const {
  const auto raw_path = detail::RequestAccess::raw_path(request);
  if (match(raw_path, request.method()) != nullptr) return false;
  answer_no_route(raw_path, response);
  return true;
}

void Router::answer_no_route(std::string_view raw_path, Response& response) const {
  const auto allow = allowed_methods(raw_path);
  if (allow.empty()) {
    response.text(404, "Not Found\n");
  } else {
    response.text(405, "Method Not Allowed\n");
    response.header("Allow", allow);
  }
}

void Router::dispatch(Request& request, Response& response) const {
  const auto raw_path = detail::RequestAccess::raw_path(request);
  const Route* route = match(raw_path, request.method());
  if (route == nullptr) {
    answer_no_route(raw_path, response);
    return;
  }
  detail::RequestAccess::clear_params(request, raw_path.size());
  std::size_t index = 0;
  for_each_segment(raw_path, [&](std::string_view text) {
    const auto& segment = route->segments[index++];
    if (segment.parameter) detail::RequestAccess::add_param(request, segment.text, text);
    return true;
  });
  try {
    route->handler(request, response);
  } catch (const ClientError& error) {
    detail::ResponseAccess::reset(response);
    response.text(error.status(), std::string(error.what()) + "\n");
  }
}

}  // namespace corral::http
