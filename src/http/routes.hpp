#pragma once

#include <sys/types.h>

#include "http/router.hpp"

namespace corral::http {

struct RouteContext {
  pid_t pid = 0;   // this worker
  pid_t ppid = 0;  // its supervisor
  bool debug_routes = false;
};

// The service: GET / (the seed's answer), GET /healthz, and the debug routes when enabled.
Router make_router(const RouteContext& context);

// Largest delay /debug/sleep accepts, so a typo cannot hold a worker's drain forever.
inline constexpr int max_debug_sleep_ms = 600'000;

}  // namespace corral::http
