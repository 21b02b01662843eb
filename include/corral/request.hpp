#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corral {

class Loop;
class Response;
class Session;
class Store;
namespace detail {
struct RequestAccess;
class WorkerStore;
}

// One header field as it arrived: the name in its original case, the value without
// surrounding whitespace. Repeated fields stay separate, in order.
struct Header {
  std::string_view name;
  std::string_view value;
};

// The client's address, as the worker's socket sees it.
struct Peer {
  std::string address;  // "127.0.0.1", "::1"; empty for a unix socket
  std::uint16_t port = 0;
};

// A request as a handler sees it. Everything it returns is valid until the handler
// returns (or, for a handler that answers later, until its Responder answers): copy
// what a callback needs later.
class Request {
 public:
  Request();
  Request(const Request&) = delete;  // its views point into its own storage
  Request& operator=(const Request&) = delete;

  // "GET", "POST", ... as sent (methods are case-sensitive).
  std::string_view method() const noexcept { return method_; }
  // The request target as sent: "/users/7?tab=posts", or an absolute URL.
  std::string_view target() const noexcept { return target_; }
  // The percent-decoded path, without query: "/users/7". For an absolute-form target
  // ("http://host/users/7") the path of the URL.
  std::string_view path() const noexcept { return path_; }
  // The query string after '?', undecoded; empty if none.
  std::string_view query_string() const noexcept { return query_; }
  // HTTP/1.x minor version: 0 or 1.
  unsigned http_minor_version() const noexcept { return minor_version_; }

  // The value of the path parameter `name` of the matched route ("/users/{id}"),
  // percent-decoded; nullopt if the route has no such parameter.
  std::optional<std::string_view> param(std::string_view name) const noexcept;

  // The first value of query parameter `name`, percent-decoded ('+' is a space);
  // nullopt if absent. "?a" gives "" for a.
  std::optional<std::string> query(std::string_view name) const;
  // Every query parameter, decoded, in order.
  std::vector<std::pair<std::string, std::string>> query_parameters() const;

  // The first field called `name` (case-insensitive); nullopt if none came.
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  // Every field called `name` (case-insensitive), in order.
  std::vector<std::string_view> header_values(std::string_view name) const;
  // Every field, in order.
  const std::vector<Header>& headers() const noexcept { return headers_; }

  // The value of cookie `name` from the Cookie fields (surrounding quotes removed);
  // nullopt if absent. The value is not decoded: RFC 6265 leaves encoding to the site.
  std::optional<std::string_view> cookie(std::string_view name) const noexcept;

  // The body (Content-Length or chunked), within the configured body limit.
  std::string_view body() const noexcept { return body_; }
  // A field of an application/x-www-form-urlencoded body, decoded; nullopt if the body
  // is not a form or has no such field.
  std::optional<std::string> form(std::string_view name) const;

  // Who sent it. Asks the kernel on first use.
  const Peer& peer() const;

  // The worker's event loop: timers for a handler that answers later.
  Loop& loop() const noexcept { return *loop_; }

  // The store every worker shares (corral/store.hpp).
  Store& store() const;
  // Loads the session named by this request's session cookie (a new, empty one if
  // there is none, or it is malformed, forged or expired) and calls `then` with it,
  // like a store operation: on success only, else the client gets 503. Changes are
  // saved when the answer is sent, before it goes; it then carries the cookie if the
  // session is new, regenerated, refreshed or destroyed. The expiry rolls: each use keeps a session
  // alive for session.lifetime more (written at most once per tenth of it).
  void session(Response& response, std::function<void(Session& session, Response& response)> then) const;

 private:
  friend struct detail::RequestAccess;
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
  };
  struct FieldSpans {
    Span name;
    Span value;
  };

  // Bytes of the request line and fields, copied from the read buffer; the views
  // point into it. Kept between requests of a connection, so that a keep-alive request
  // allocates nothing once the first has sized it.
  std::string head_;
  Span method_span_;
  Span target_span_;
  std::vector<FieldSpans> field_spans_;  // into head_
  std::vector<Header> headers_;
  std::string_view method_;
  std::string_view target_;
  std::string_view raw_path_;
  std::string_view path_;
  std::string_view query_;
  std::string decoded_path_;  // only when the path has escapes
  std::vector<std::pair<std::string_view, std::string_view>> params_;  // name (the route's), value
  std::string param_storage_;  // decoded parameter values
  std::string body_;
  unsigned minor_version_ = 1;
  int socket_ = -1;
  mutable std::optional<Peer> peer_;
  Loop* loop_ = nullptr;
  detail::WorkerStore* store_ = nullptr;
};

}  // namespace corral
