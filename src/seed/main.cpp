// The seed's service: the Node.js cluster example of the seed document, on corral's
// public API only (the `corral` binary). GET / answers which worker served it;
// /healthz is for load balancers; /login, /me, /logout and /visits show state shared
// by every worker (and every machine on one Redis); the debug routes crash or stall a
// worker on purpose, for the tests, and are served only with --enable-debug-routes.
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "corral/corral.hpp"

namespace {

// Largest delay /debug/sleep accepts, so a typo cannot hold a worker's drain forever.
constexpr int max_sleep_ms = 600'000;

int sleep_milliseconds(const corral::Request& request) {
  const auto text = request.query("ms");
  if (!text) throw corral::ClientError(400, "/debug/sleep needs ms=<milliseconds>");
  int ms = -1;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), ms);
  if (error != std::errc{} || end != text->data() + text->size() || ms < 0 || ms > max_sleep_ms) {
    throw corral::ClientError(400, "ms must be a whole number from 0 to " + std::to_string(max_sleep_ms));
  }
  return ms;
}

// The seed's answer. Handlers run in workers only, so the pids are the worker's.
const std::string& greeting() {
  static const std::string text =
      "I am worker, pid:" + std::to_string(::getpid()) + ", ppid:" + std::to_string(::getppid());
  return text;
}

[[noreturn]] void write_to_invalid_address() {
  // Page zero is never mapped; volatile keeps the store from being optimised away.
  auto* volatile address = reinterpret_cast<volatile int*>(std::uintptr_t{16});
  *address = 1;
  __builtin_trap();
}

[[noreturn]] void spin_forever() {
  volatile std::uint64_t spins = 0;
  for (;;) spins = spins + 1;
}

// An illustration of sessions: a name, no password.
void log_in(const corral::Request& request, corral::Response& response) {
  auto user = request.form("user");
  if (!user || user->empty() || user->size() > 64) {
    throw corral::ClientError(400, "POST /login needs a form field user of 1 to 64 bytes\n");
  }
  request.session(response, [user = std::move(*user)](corral::Session& session, corral::Response& response) {
    session.regenerate();  // against session fixation
    session.set("user", user);
    response.text(200, "logged in as " + user + "\n");
  });
}

void who_am_i(const corral::Request& request, corral::Response& response) {
  request.session(response, [](corral::Session& session, corral::Response& response) {
    const auto user = session.get("user");
    if (!user) throw corral::ClientError(401, "not logged in: POST /login with user=NAME\n");
    response.text(200, std::string(*user) + "\n");
  });
}

void log_out(const corral::Request& request, corral::Response& response) {
  request.session(response, [](corral::Session& session, corral::Response& response) {
    session.destroy();
    response.text(200, "logged out\n");
  });
}

void count_visit(const corral::Request& request, corral::Response& response) {
  request.store().increment("visits", 1, response, [](std::int64_t visits, corral::Response& response) {
    response.text(200, std::to_string(visits) + "\n");
  });
}

void show_visits(const corral::Request& request, corral::Response& response) {
  request.store().get("visits", response, [](std::optional<std::string> visits, corral::Response& response) {
    response.text(200, visits.value_or("0") + "\n");
  });
}

}  // namespace

int main(int argc, char** argv) {
  corral::Service service("corral");
  service.get("/", [](const corral::Request&, corral::Response& response) {
    response.text(200, greeting()).content_type("text/plain");  // the seed's type, exactly
  });
  service.get("/healthz", [](const corral::Request&, corral::Response& response) { response.text(200, "ok"); });
  service.post("/login", log_in);
  service.get("/me", who_am_i);
  service.post("/logout", log_out);
  service.post("/visits", count_visit);
  service.get("/visits", show_visits);
  // Expired sessions and keys are deleted once a minute by one worker. `retry`: a
  // purge is safe to run again.
  corral::TaskOptions purge_options;
  purge_options.retry = true;
  service.task("purge-sessions", corral::Schedule::every(std::chrono::minutes(1)), corral::purge_expired_store,
               purge_options);

  service.debug_route("GET", "/debug/throw", [](const corral::Request&, corral::Response& response) {
    // The seed's worker: answer, then fail. The answer is still sent.
    response.text(200, greeting());
    throw std::runtime_error("/debug/throw asked for it");
  });
  service.debug_route("GET", "/debug/segv", [](const corral::Request&, corral::Response&) {
    corral::log(corral::LogLevel::warning, "/debug/segv: writing to an invalid address");
    write_to_invalid_address();
  });
  service.debug_route("GET", "/debug/sleep", [](const corral::Request& request, corral::Response& response) {
    const int ms = sleep_milliseconds(request);
    corral::log(corral::LogLevel::info, "/debug/sleep: answering in " + std::to_string(ms) + " ms");
    // Answered from a timer: the worker serves other connections meanwhile.
    request.loop().after(std::chrono::milliseconds(ms), [ms, responder = response.defer()]() mutable {
      corral::Response answer;
      answer.text(200, "slept " + std::to_string(ms) + " ms\n");
      responder.send(std::move(answer));
    });
  });
  service.debug_route("GET", "/debug/hang", [](const corral::Request&, corral::Response&) {
    corral::log(corral::LogLevel::warning, "/debug/hang: blocking this worker's event loop for good");
    spin_forever();
  });
  return service.run(argc, argv);
}
