#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "corral/request.hpp"
#include "http/request_access.hpp"
#include "http/url.hpp"

namespace corral {
namespace {

// Splits one Cookie field ("a=1; b=2") and returns the value of `name`.
std::optional<std::string_view> cookie_in(std::string_view field, std::string_view name) {
  while (!field.empty()) {
    const auto semicolon = field.find(';');
    auto pair = field.substr(0, semicolon);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      auto value = pair.substr(equals + 1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      return value;
    }
    if (semicolon == std::string_view::npos) break;
    field.remove_prefix(semicolon + 1);
  }
  return std::nullopt;
}

}  // namespace

Request::Request() = default;

std::optional<std::string_view> Request::param(std::string_view name) const noexcept {
  for (const auto& [key, value] : params_) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::optional<std::string> Request::query(std::string_view name) const {
  return http::urlencoded_value(query_, name);
}

std::vector<std::pair<std::string, std::string>> Request::query_parameters() const {
  std::vector<std::pair<std::string, std::string>> parameters;
  http::for_each_pair(query_, [&](std::string_view name, std::string_view value) {
    parameters.emplace_back(http::percent_decode(name, true), http::percent_decode(value, true));
    return true;
  });
  return parameters;
}

std::optional<std::string_view> Request::header(std::string_view name) const noexcept {
  for (const auto& field : headers_) {
    if (http::iequals(field.name, name)) return field.value;
  }
  return std::nullopt;
}

std::vector<std::string_view> Request::header_values(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& field : headers_) {
    if (http::iequals(field.name, name)) values.push_back(field.value);
  }
  return values;
}

std::optional<std::string_view> Request::cookie(std::string_view name) const noexcept {
  if (name.empty()) return std::nullopt;
  for (const auto& field : headers_) {
    if (!http::iequals(field.name, "cookie")) continue;
    if (auto value = cookie_in(field.value, name)) return value;
  }
  return std::nullopt;
}

std::optional<std::string> Request::form(std::string_view name) const {
  const auto type = header("content-type");
  if (!type) return std::nullopt;
  const auto media_type = type->substr(0, type->find(';'));
  auto trimmed = media_type;
  while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
  if (!http::iequals(trimmed, "application/x-www-form-urlencoded")) return std::nullopt;
  return http::urlencoded_value(body_, name);
}

const Peer& Request::peer() const {
  if (peer_) return *peer_;
  Peer peer;
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (socket_ >= 0 && ::getpeername(socket_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    char text[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET) {
      const auto& in = reinterpret_cast<const sockaddr_in&>(address);
      ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
      peer.port = ntohs(in.sin_port);
    } else if (address.ss_family == AF_INET6) {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
      ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
      peer.port = ntohs(in6.sin6_port);
    }
    peer.address = text;
  }
  peer_ = std::move(peer);
  return *peer_;
}

namespace detail {

void RequestAccess::bind(Request& request, Loop& loop, int socket) {
  request.loop_ = &loop;
  request.socket_ = socket;
  request.peer_.reset();
  request.head_.reserve(256);
}

void RequestAccess::reset(Request& request) {
  // What set_request_line() and finish_head() do not overwrite; and the views, which
  // finish_head() sets: until then a request refused half-way shows nothing stale.
  request.params_.clear();
  request.body_.clear();
  request.method_ = {};
  request.target_ = {};
  request.raw_path_ = {};
  request.path_ = {};
  request.query_ = {};
}

void RequestAccess::set_request_line(Request& request, std::string_view method, std::string_view target,
                                     unsigned minor_version) {
  request.head_.assign(method);
  request.head_.append(target);
  request.field_spans_.clear();
  request.minor_version_ = minor_version;
  request.method_span_ = {0, static_cast<std::uint32_t>(method.size())};
  request.target_span_ = {static_cast<std::uint32_t>(method.size()), static_cast<std::uint32_t>(target.size())};
}

void RequestAccess::add_field(Request& request, std::string_view name, std::string_view value) {
  const auto name_offset = static_cast<std::uint32_t>(request.head_.size());
  request.head_.append(name);
  const auto value_offset = static_cast<std::uint32_t>(request.head_.size());
  request.head_.append(value);
  request.field_spans_.push_back({{name_offset, static_cast<std::uint32_t>(name.size())},
                                  {value_offset, static_cast<std::uint32_t>(value.size())}});
}

void RequestAccess::finish_head(Request& request) {
  const std::string_view head = request.head_;
  const auto view = [head](Request::Span span) { return head.substr(span.offset, span.length); };
  request.method_ = view(request.method_span_);
  request.target_ = view(request.target_span_);
  request.headers_.clear();
  for (const auto& field : request.field_spans_) request.headers_.push_back({view(field.name), view(field.value)});
  const auto parts = http::split_target(request.target_);
  request.raw_path_ = parts.path;
  request.query_ = parts.query;
  if (http::has_escapes(parts.path, false)) {
    http::percent_decode(parts.path, false, request.decoded_path_);
    request.path_ = request.decoded_path_;
  } else {
    request.path_ = parts.path;
  }
}

void RequestAccess::clear_params(Request& request, std::size_t raw_bytes) {
  request.params_.clear();
  request.param_storage_.clear();
  // Decoded values are never longer than raw ones: with this reserved, appending
  // never moves the storage that earlier views point into.
  request.param_storage_.reserve(raw_bytes);
}

void RequestAccess::add_param(Request& request, std::string_view name, std::string_view raw) {
  const auto offset = request.param_storage_.size();
  http::percent_decode_append(raw, false, request.param_storage_);
  request.params_.emplace_back(name, std::string_view(request.param_storage_).substr(offset));
}

}  // namespace detail
}  // namespace corral
