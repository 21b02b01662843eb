#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corral::http {

struct Request {
  std::string_view method;  // "GET", "HEAD", ...
  std::string_view target;  // "/debug/sleep?ms=10"

  std::string_view path() const { return target.substr(0, target.find('?')); }
  std::string_view query() const;
};

struct Response {
  int status = 0;  // 0 until a handler produces the response
  std::string content_type = "text/plain";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Answer after this long; the worker keeps serving other connections meanwhile.
  std::chrono::milliseconds delay{0};

  bool produced() const { return status != 0; }
  static Response text(int status, std::string body);
};

// Thrown by a handler for a request it will not serve (a bad parameter): the client
// gets `status` with the message, and the worker carries on. Anything else a handler
// throws is a crash.
class ClientError : public std::runtime_error {
 public:
  ClientError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

using Handler = std::function<void(const Request&, Response&)>;

// Exact-path routing. HEAD is accepted wherever GET is (the session sends no body).
class Router {
 public:
  void add(std::string path, std::vector<std::string> methods, Handler handler);

  // Fills `response`: the handler's answer, 404 for an unknown path, 405 with Allow for
  // a known path and another method. Exceptions other than ClientError propagate, with
  // whatever the handler had produced left in `response`.
  void dispatch(const Request& request, Response& response) const;

 private:
  struct Route {
    std::string path;
    std::vector<std::string> methods;
    std::string allow;  // the Allow header for 405
    Handler handler;
  };
  std::vector<Route> routes_;
};

// The value of `name` in a query string ("a=1&ms=20"), undecoded; nullopt if absent.
std::optional<std::string_view> query_parameter(std::string_view query, std::string_view name);

}  // namespace corral::http
