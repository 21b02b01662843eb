// libFuzzer target: a whole connection (the worker's Connection over a socketpair) fed
// arbitrary bytes in arbitrary pieces, with routes that answer at once, answer later
// and throw. Invariants, checked on what the client receives:
//   - every answer is a well-formed HTTP/1.x response;
//   - at most one final answer per request the worker handled, plus at most one
//     refusal;
//   - nothing after an answer that closes (Connection: close, or HTTP/1.0 without
//     keep-alive);
//   - no crash, leak or undefined behaviour (ASan, UBSan).
#include <fuzzer/FuzzedDataProvider.h>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "http/router.hpp"
#include "worker/connection.hpp"
#include "worker/handler_loop.hpp"

namespace {

using namespace corral;

class Owner final : public ConnectionOwner {
 public:
  explicit Owner(const http::Router& router) : router_(router) {}
  void serve(Request& request, Response& response) override {
    methods.emplace_back(request.method());
    router_.dispatch(request, response);
  }
  bool refuse_unrouted(const Request& request, Response& response) override {
    return router_.answer_unrouted(request, response);
  }
  void on_handler_exception(const std::string&) override {}
  bool draining() const override { return false; }
  void on_closed(Connection&) override { closed = true; }
  std::vector<std::string> methods;  // of the requests handled, in order
  bool closed = false;

 private:
  const http::Router& router_;
};

const http::Router& router() {
  static const http::Router routes = [] {
    http::Router r;
    r.add("GET", "/", [](const Request&, Response& response) { response.text(200, "hello"); });
    r.add("POST", "/echo", [](const Request& request, Response& response) {
      response.body(std::string(request.body()));
    });
    r.add("GET", "/later", [](const Request& request, Response& response) {
      request.loop().after(std::chrono::milliseconds(0), [responder = response.defer()] {
        Response answer;
        answer.text(200, "later");
        responder.send(answer);
      });
    });
    r.add("GET", "/throw", [](const Request&, Response&) { throw std::runtime_error("fuzz"); });
    r.add("GET", "/users/{id}", [](const Request& request, Response& response) {
      response.text(200, std::string(*request.param("id")) + std::string(request.header("x").value_or("")));
    });
    return r;
  }();
  return routes;
}

// Checks the answers the client received; aborts on a broken invariant. The answer to
// a HEAD request has a length but no body.
void check_answers(const std::string& received, const std::vector<std::string>& methods) {
  std::size_t at = 0;
  int finals = 0;
  while (at < received.size()) {
    const bool http10 = received.compare(at, 9, "HTTP/1.0 ") == 0;
    if (!http10 && received.compare(at, 9, "HTTP/1.1 ") != 0) std::abort();
    const auto end = received.find("\r\n\r\n", at);
    if (end == std::string::npos) std::abort();
    const auto head = received.substr(at, end + 4 - at);
    const int status = std::atoi(head.c_str() + 9);
    std::size_t length = 0;
    if (const auto field = head.find("\r\nContent-Length: "); field != std::string::npos) {
      length = std::strtoul(head.c_str() + field + 18, nullptr, 10);
    }
    if (status == 100) {
      at = end + 4;
      continue;
    }
    const bool answers_head = static_cast<std::size_t>(finals) < methods.size() && methods[finals] == "HEAD";
    if (answers_head) length = 0;
    if (end + 4 + length > received.size()) std::abort();
    at = end + 4 + length;
    ++finals;
    const bool closes = head.find("\r\nConnection: close\r\n") != std::string::npos ||
                        (http10 && head.find("\r\nConnection: keep-alive\r\n") == std::string::npos);
    if (closes && at != received.size()) std::abort();
  }
  if (static_cast<std::size_t>(finals) > methods.size() + 1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  HttpLimits limits;
  limits.max_header_bytes = 2048;
  limits.max_body_bytes = 4096;
  EventLoop loop;
  HandlerLoop handler_loop(loop, [](const std::string&) {});
  ConnectionDeadlines deadlines(loop, limits);
  std::array<char, 16 * 1024> buffer{};
  HttpDate date;
  ConnectionEnvironment environment{loop, handler_loop, deadlines, limits, buffer, date};
  Owner owner(router());
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  UniqueFd client(fds[0]);
  auto connection = std::make_unique<Connection>(environment, owner, UniqueFd(fds[1]));

  std::string received;
  const auto drain_client = [&] {
    char chunk[65536];
    for (;;) {
      const auto got = ::recv(client.get(), chunk, sizeof chunk, MSG_DONTWAIT);
      if (got <= 0) return;
      received.append(chunk, static_cast<std::size_t>(got));
    }
  };
  while (input.remaining_bytes() > 0 && !owner.closed) {
    const auto piece = input.ConsumeBytesAsString(input.ConsumeIntegralInRange<std::size_t>(1, 512));
    if (::send(client.get(), piece.data(), piece.size(), MSG_NOSIGNAL) < 0) break;
    loop.run_once(std::chrono::milliseconds(0));
    drain_client();
  }
  ::shutdown(client.get(), SHUT_WR);
  for (int turn = 0; turn < 8 && !owner.closed; ++turn) {
    loop.run_once(std::chrono::milliseconds(0));
    drain_client();
  }
  connection.reset();
  drain_client();
  check_answers(received, owner.methods);
  return 0;
}
