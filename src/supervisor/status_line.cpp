#include "supervisor/status_line.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace corral {

std::string status_line(const WorkerTable& table, const PoolCounters& counters, const StoreView& store) {
  std::uint64_t requests = counters.retired.requests();
  for (const auto& [pid, worker] : table) requests += worker.requests;
  const auto serving = table.count(WorkerState::ready) + table.count(WorkerState::retiring);
  auto status = fmt::format("{}/{} workers ready · {} requests · {} restarts", std::min(serving, table.slot_count()),
                            table.slot_count(), requests, counters.restarts);
  if (counters.recycled > 0) status += fmt::format(" · {} recycled", counters.recycled);
  if (store.description == "off" || store.description.empty()) {
    status += " · store off";
  } else if (store.down == 0) {
    status += fmt::format(" · store {} up", store.description);
    if (!store.primary.empty()) status += fmt::format(", primary {}", store.primary);
  } else {
    status += fmt::format(" · store {} DOWN in {}/{} workers", store.description, store.down, store.reporting);
    if (store.description.starts_with("redis-sentinel")) status += " (asking the sentinels for the primary)";
  }
  if (store.failovers > 0) status += fmt::format(" · {} failover{} seen", store.failovers, store.failovers == 1 ? "" : "s");
  if (!counters.last_event.empty()) status += fmt::format(" · last: {}", counters.last_event);
  return status;
}

}  // namespace corral
