#pragma once

#include <cstdint>
#include <string>

#include "supervisor/worker_table.hpp"

namespace corral {

// The pool's counters that outlive its workers.
struct PoolCounters {
  std::uint64_t restarts = 0;
  std::uint64_t recycled = 0;
  std::uint64_t retired_requests = 0;  // requests of workers that have exited
  std::string last_event;              // "worker 2 hung", "reloaded", ...
};

// systemd's STATUS= line: "4/4 workers ready · 12034 requests · 2 restarts · last: ...".
std::string status_line(const WorkerTable& table, const PoolCounters& counters);

}  // namespace corral
