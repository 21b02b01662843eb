#include <stdexcept>
#include <string>

#include "corral/response.hpp"
#include "http/response_access.hpp"
#include "http/url.hpp"

namespace corral {
namespace {

// RFC 9110 §5.6.2 token characters: what a field name (and a cookie name) may hold.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const unsigned char c : text) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// A field value may not hold CR, LF or NUL: they would end the field or the header.
bool is_field_value(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// RFC 6265 §4.1.1 cookie-octet: no controls, whitespace, DQUOTE, comma, semicolon or
// backslash.
bool is_cookie_value(std::string_view text) {
  for (const unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\') return false;
  }
  return true;
}

bool is_workers_field(std::string_view name) {
  for (const auto reserved : {"content-length", "transfer-encoding", "connection", "date", "server"}) {
    if (http::iequals(name, reserved)) return true;
  }
  return false;
}

}  // namespace

Response::Response() = default;

Response& Response::status(int code) {
  if (code < 200 || code > 599) {
    throw std::invalid_argument("corral::Response::status: " + std::to_string(code) +
                                " is not a final HTTP status (200-599)");
  }
  status_ = code;
  produced_ = true;
  return *this;
}

Response& Response::body(std::string_view text) {
  body_.assign(text);
  produced_ = true;
  return *this;
}

Response& Response::body(std::string&& text) {
  body_ = std::move(text);
  produced_ = true;
  return *this;
}

Response& Response::content_type(std::string_view type) {
  if (type.empty() || !is_field_value(type)) {
    throw std::invalid_argument("corral::Response::content_type: empty, or holds CR, LF or NUL");
  }
  content_type_.assign(type);
  return *this;
}

Response& Response::text(int code, std::string_view text) {
  status(code);
  content_type_.clear();
  return body(text);
}

Response& Response::json(int code, std::string_view json) {
  status(code);
  content_type_.assign("application/json");
  return body(json);
}

Response& Response::header(std::string_view name, std::string_view value) {
  if (!is_token(name)) {
    throw std::invalid_argument("corral::Response::header: \"" + std::string(name) + "\" is not a field name");
  }
  if (!is_field_value(value)) {
    throw std::invalid_argument("corral::Response::header: the value of " + std::string(name) +
                                " holds CR, LF or NUL");
  }
  if (is_workers_field(name)) {
    throw std::invalid_argument("corral::Response::header: " + std::string(name) +
                                " is set by the worker; use body() and content_type()");
  }
  if (http::iequals(name, "content-type")) return content_type(value);
  headers_.emplace_back(name, value);
  return *this;
}

Response& Response::set_cookie(const Cookie& cookie) {
  if (!is_token(cookie.name)) {
    throw std::invalid_argument("corral::Response::set_cookie: \"" + cookie.name + "\" is not a cookie name");
  }
  if (!is_cookie_value(cookie.value)) {
    throw std::invalid_argument("corral::Response::set_cookie: the value of " + cookie.name +
                                " holds characters a cookie cannot (encode it first)");
  }
  if (!is_field_value(cookie.path) || cookie.path.find(';') != std::string::npos) {
    throw std::invalid_argument("corral::Response::set_cookie: the path of " + cookie.name + " holds ';', CR or LF");
  }
  if (cookie.same_site == SameSite::none && !cookie.secure) {
    // Browsers reject SameSite=None without Secure: refuse it here, where it is seen.
    throw std::invalid_argument("corral::Response::set_cookie: SameSite=None needs secure = true (" + cookie.name + ")");
  }
  std::string field = cookie.name + "=" + cookie.value;
  if (!cookie.path.empty()) field += "; Path=" + cookie.path;
  if (cookie.max_age) field += "; Max-Age=" + std::to_string(std::max<long long>(0, cookie.max_age->count()));
  if (cookie.http_only) field += "; HttpOnly";
  if (cookie.secure) field += "; Secure";
  switch (cookie.same_site) {
    case SameSite::lax: field += "; SameSite=Lax"; break;
    case SameSite::strict: field += "; SameSite=Strict"; break;
    case SameSite::none: field += "; SameSite=None"; break;
  }
  headers_.emplace_back("Set-Cookie", std::move(field));
  return *this;
}

Responder Response::defer() {
  if (deferrer_.value == nullptr) {
    throw std::logic_error("corral::Response::defer: called twice, or on a response the handler was not given");
  }
  auto target = deferrer_.value->defer();
  deferrer_.value = nullptr;
  return Responder(std::move(target));
}

void Responder::send(Response response) const {
  if (target_) target_->answer(std::move(response));
}

bool Responder::pending() const noexcept {
  return target_ && target_->client_connected();
}

ClientError::ClientError(int status, const std::string& message) : std::runtime_error(message), status_(status) {
  if (status < 400 || status > 499) {
    throw std::invalid_argument("corral::ClientError: " + std::to_string(status) + " is not a 4xx status");
  }
}

namespace detail {

void ResponseAccess::reset(Response& response) {
  response.status_ = 200;
  response.produced_ = false;
  response.content_type_.clear();
  response.body_.clear();
  response.headers_.clear();
  response.deferrer_.value = nullptr;
}

}  // namespace detail
}  // namespace corral
