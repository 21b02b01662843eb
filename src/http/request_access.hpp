#pragma once

#include <string>
#include <string_view>

#include "corral/request.hpp"

namespace corral::detail {

// How the worker fills a Request: the request line and fields as the parser reports
// them, then the body, then the route's parameters. Everything is copied into storage
// the Request keeps between requests, so a keep-alive request allocates nothing.
struct RequestAccess {
  // Ties the request to its connection, once.
  static void bind(Request& request, Loop& loop, int socket);
  static void bind_store(Request& request, WorkerStore* store) { request.store_ = store; }
  // Empties the request for the next one on the same connection.
  static void reset(Request& request);
  static void set_request_line(Request& request, std::string_view method, std::string_view target,
                               unsigned minor_version);
  static void add_field(Request& request, std::string_view name, std::string_view value);
  // The header is complete: the views of method, target, path, query and fields.
  static void finish_head(Request& request);
  static std::string& body(Request& request) { return request.body_; }
  // The path as sent (not decoded): what routes match.
  static std::string_view raw_path(const Request& request) { return request.raw_path_; }
  // The matched route's parameters; `raw` values are percent-decoded here.
  static void clear_params(Request& request, std::size_t raw_bytes);
  static void add_param(Request& request, std::string_view name, std::string_view raw);
};

}  // namespace corral::detail
