#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"

namespace corral::test {

// A request of the seed's store routes: a Cookie, and for POST a form body.
std::string request_text(const std::string& method, const std::string& target, const std::string& cookie,
                         const std::string& form, bool close);
// One request on a new connection; throws if no answer comes within 10 s.
HttpResponse exchange(std::uint16_t port, const std::string& method, const std::string& target,
                      const std::string& cookie = "", const std::string& form = "");
// "corral_session=ID" from a response's Set-Cookie, for the next request's Cookie.
std::string session_cookie(const HttpResponse& response);
// POST /login as `user`: the session's cookie; throws unless it answered 200 with one.
std::string log_in(std::uint16_t port, const std::string& user);
// GET /visits: the counter; throws unless it answered 200.
std::int64_t visits(std::uint16_t port);

// Counts answers to POST /visits from `clients` keep-alive connections until stopped
// (or until each has sent `per_client`).
class VisitLoad {
 public:
  VisitLoad(std::uint16_t port, unsigned clients, std::uint64_t per_client = 0);
  ~VisitLoad() { stop(); }
  void stop();
  // Waits for clients that send a fixed number of requests.
  void join();

  std::atomic<std::uint64_t> acknowledged{0};  // 200: the increment happened
  std::atomic<std::uint64_t> unavailable{0};   // 503 with Retry-After
  std::atomic<std::uint64_t> other{0};         // anything else, or no answer
  std::atomic<std::uint64_t> attempted{0};

 private:
  void run(std::uint16_t port, std::uint64_t limit);
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace corral::test
