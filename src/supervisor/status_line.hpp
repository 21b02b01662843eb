#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "metrics/pool_metrics.hpp"
#include "supervisor/worker_table.hpp"

namespace corral {

// The pool's counters that outlive its workers.
struct PoolCounters {
  std::uint64_t restarts = 0;
  std::uint64_t recycled = 0;
  std::string last_event;  // "worker 2 hung", "reloaded", ...
  // For metrics: replacements by cause (metrics::RestartCause).
  std::array<std::uint64_t, metrics::restart_cause_names.size()> restarts_by_cause{};
  // What exited workers had counted, so that the pool's counters never go backwards.
  ipc::RequestTotals retired;
  std::map<unsigned, double> retired_cpu_seconds;  // by slot
};

// The store as the workers see it.
struct StoreView {
  std::string description;  // "sqlite /var/lib/corral/store.sqlite3", "redis 10.0.0.5:6379/0", "off"
  unsigned reporting = 0;   // workers that said how it is
  unsigned down = 0;        // of them, those that cannot reach it
  std::string primary;      // Redis Sentinel: the primary the workers use ("10.0.0.2:6379")
  std::uint64_t failovers = 0;  // Redis Sentinel: changes of the primary a worker has seen (the most)
};

// systemd's STATUS= line: "4/4 workers ready · 12034 requests · 2 restarts · store
// sqlite up · last: ...".
std::string status_line(const WorkerTable& table, const PoolCounters& counters, const StoreView& store);

}  // namespace corral
