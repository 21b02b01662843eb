#include "http/routes.hpp"

#include <charconv>
#include <cstdint>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace corral::http {
namespace {

int sleep_milliseconds(const Request& request) {
  const auto text = query_parameter(request.query(), "ms");
  if (!text) throw ClientError(400, "/debug/sleep needs ms=<milliseconds>");
  int ms = -1;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), ms);
  if (error != std::errc{} || end != text->data() + text->size() || ms < 0 || ms > max_debug_sleep_ms) {
    throw ClientError(400, fmt::format("ms must be a whole number from 0 to {}", max_debug_sleep_ms));
  }
  return ms;
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

}  // namespace

Router make_router(const RouteContext& context) {
  Router router;
  const auto greeting = fmt::format("I am worker, pid:{}, ppid:{}", context.pid, context.ppid);

  router.add("/", {"GET"}, [greeting](const Request&, Response& response) {
    response = Response::text(200, greeting);
  });
  router.add("/healthz", {"GET"}, [](const Request&, Response& response) {
    response = Response::text(200, "ok");
  });
  if (!context.debug_routes) return router;

  router.add("/debug/throw", {"GET"}, [greeting](const Request&, Response& response) {
    // The seed's worker: answer, then fail. The answer is still sent.
    response = Response::text(200, greeting);
    throw std::runtime_error("/debug/throw asked for it");
  });
  router.add("/debug/segv", {"GET"}, [](const Request&, Response&) {
    spdlog::warn("/debug/segv: writing to an invalid address");
    write_to_invalid_address();
  });
  router.add("/debug/sleep", {"GET"}, [](const Request& request, Response& response) {
    const int ms = sleep_milliseconds(request);
    spdlog::info("/debug/sleep: answering in {} ms", ms);
    response = Response::text(200, fmt::format("slept {} ms\n", ms));
    response.delay = std::chrono::milliseconds(ms);
  });
  router.add("/debug/hang", {"GET"}, [](const Request&, Response&) {
    spdlog::warn("/debug/hang: blocking this worker's event loop for good");
    spin_forever();
  });
  return router;
}

}  // namespace corral::http
