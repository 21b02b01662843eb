#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corral {

class Responder;
namespace detail {
struct ResponseAccess;
class PendingAnswer;
class Deferrer;
}  // namespace detail

enum class SameSite { lax, strict, none };

// A Set-Cookie field (RFC 6265). The defaults are the safe ones: HttpOnly,
// SameSite=Lax, Path=/. A session cookie (no Max-Age) ends with the browser session.
struct Cookie {
  Cookie(std::string name, std::string value) : name(std::move(name)), value(std::move(value)) {}

  std::string name;
  std::string value;
  std::string path = "/";
  std::optional<std::chrono::seconds> max_age;  // 0 deletes the cookie
  bool http_only = true;
  bool secure = false;
  SameSite same_site = SameSite::lax;
};

// The answer to a request. The worker adds Server, Date, Content-Length and
// Connection; a handler sets the rest. Setters throw std::invalid_argument for what
// would corrupt the response (CR or LF in a field, a status outside 200-599, a
// cookie name or value outside RFC 6265's characters), so a request's data can never
// inject a field.
class Response {
 public:
  Response();

  // 200-599: a final answer (interim 1xx answers are the worker's).
  Response& status(int code);
  int status() const noexcept { return status_; }

  // Sets the body and its Content-Type (default "text/plain; charset=utf-8").
  Response& body(std::string_view text);
  Response& body(std::string&& text);
  Response& body(const char* text) { return body(std::string_view(text)); }
  const std::string& body() const noexcept { return body_; }
  Response& content_type(std::string_view type);
  std::string_view content_type() const noexcept {
    return content_type_.empty() ? std::string_view("text/plain; charset=utf-8") : std::string_view(content_type_);
  }

  // Status, body and type at once: response.text(200, "hello").
  Response& text(int code, std::string_view text);
  // A JSON body the handler has serialised: Content-Type application/json.
  Response& json(int code, std::string_view json);

  // Adds a field. Content-Length, Transfer-Encoding, Connection, Date and Server are
  // the worker's and are refused (std::invalid_argument).
  Response& header(std::string_view name, std::string_view value);
  const std::vector<std::pair<std::string, std::string>>& headers() const noexcept { return headers_; }

  Response& set_cookie(const Cookie& cookie);

  // Answer later: the worker keeps the connection and serves others meanwhile; the
  // handler returns at once and the Responder answers from a callback (a timer, a
  // reply from a store). Whatever this Response holds is discarded.
  [[nodiscard]] Responder defer();

 private:
  friend struct detail::ResponseAccess;
  int status_ = 200;
  bool produced_ = false;  // a handler set a status or body
  std::string content_type_;  // empty: the default, kept without an allocation
  std::string body_;
  std::vector<std::pair<std::string, std::string>> headers_;
  // Set while a handler runs. Never copied or moved with the response: only the
  // response the connection gave the handler can defer it.
  struct DeferrerSlot {
    detail::Deferrer* value = nullptr;
    DeferrerSlot() = default;
    DeferrerSlot(const DeferrerSlot&) noexcept {}
    DeferrerSlot& operator=(const DeferrerSlot&) noexcept { return *this; }
  };
  DeferrerSlot deferrer_;
};

namespace detail {
// The connection's side of a deferred answer, shared by the Responder's copies. It
// answers 500 when destroyed unanswered; the connection cuts it when the client goes
// away first.
class PendingAnswer {
 public:
  virtual ~PendingAnswer() = default;
  virtual void answer(Response&& response) = 0;
  virtual bool client_connected() const = 0;
};
// The connection whose handler is running: hands out its PendingAnswer on defer().
class Deferrer {
 public:
  virtual std::shared_ptr<PendingAnswer> defer() = 0;

 protected:
  ~Deferrer() = default;
};
}  // namespace detail

// Answers a deferred request, once. Copies answer the same request (so a callback
// that holds one can be a std::function); the first answer counts. When the last copy
// is gone without an answer, the client gets 500: a forgotten request never hangs.
class Responder {
 public:
  Responder() = default;  // answers nothing until assigned from defer()
  // Sends `response`. After the first answer, or once the client has gone, it does
  // nothing.
  void send(Response response) const;
  // False once answered or once the client has closed the connection.
  bool pending() const noexcept;

 private:
  friend class Response;
  friend struct detail::ResponseAccess;
  explicit Responder(std::shared_ptr<detail::PendingAnswer> target) : target_(std::move(target)) {}
  std::shared_ptr<detail::PendingAnswer> target_;
};

// Thrown by a handler for a request it will not serve: the client gets `status`
// (400-499) with the message as its body, and the worker carries on. Any other
// exception from a handler is a crash: the client gets 500 (or what the handler had
// set), and the worker is replaced (a suicide notice).
class ClientError : public std::runtime_error {
 public:
  // Throws std::invalid_argument if `status` is not 400-499.
  ClientError(int status, const std::string& message);
  int status() const noexcept { return status_; }

 private:
  int status_;
};

}  // namespace corral
