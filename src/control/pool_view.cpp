#include "control/pool_view.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace corral::control {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(WorkerView, slot, pid, generation, state, uptime_seconds, requests,
                                   requests_per_second, connections, restarts, last_exit, rss_bytes, cpu_percent)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PoolView, service, version, supervisor_pid, uptime_seconds, pool_size, mode, store,
                                   store_state, requests, restarts, workers)

namespace {

std::string duration_text(double seconds) {
  const auto total = static_cast<long long>(seconds);
  if (total < 60) return fmt::format("{}s", total);
  if (total < 3600) return fmt::format("{}m {:02}s", total / 60, total % 60);
  if (total < 86400) return fmt::format("{}h {:02}m", total / 3600, total % 3600 / 60);
  return fmt::format("{}d {:02}h", total / 86400, total % 86400 / 3600);
}

std::string bytes_text(std::uint64_t bytes) {
  if (bytes < 1024 * 1024) return fmt::format("{:.0f} KiB", static_cast<double>(bytes) / 1024);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024 * 1024));
}

}  // namespace

std::string to_json(const PoolView& view) {
  return nlohmann::json(view).dump();
}

PoolView pool_view_from_json(const std::string& json) {
  try {
    return nlohmann::json::parse(json).get<PoolView>();
  } catch (const nlohmann::json::exception& error) {
    throw std::invalid_argument(fmt::format("not a pool view: {}", error.what()));
  }
}

std::string render_table(const PoolView& view) {
  std::size_t ready = 0;
  for (const auto& worker : view.workers) ready += worker.state == "ready" ? 1 : 0;
  std::string text = fmt::format("{} (pid {}, {}) · {} · {}/{} workers ready · store {} {} · {} requests · {} "
                                 "restarts · up {}\n",
                                 view.service, view.supervisor_pid, view.version, view.mode, ready, view.pool_size,
                                 view.store, view.store_state, view.requests, view.restarts,
                                 duration_text(view.uptime_seconds));
  text += fmt::format("{:<5} {:<8} {:>4} {:<9} {:>8} {:>10} {:>8} {:>6} {:>8}  {:<26} {:>9} {:>6}\n", "slot", "pid",
                      "gen", "state", "uptime", "requests", "req/s", "conns", "restarts", "last exit", "rss", "cpu");
  for (const auto& worker : view.workers) {
    text += fmt::format("{:<5} {:<8} {:>4} {:<9} {:>8} {:>10} {:>8.1f} {:>6} {:>8}  {:<26} {:>9} {:>5.1f}%\n",
                        worker.slot, worker.pid, worker.generation, worker.state,
                        duration_text(worker.uptime_seconds), worker.requests, worker.requests_per_second,
                        worker.connections, worker.restarts, worker.last_exit.empty() ? "-" : worker.last_exit,
                        bytes_text(worker.rss_bytes), worker.cpu_percent);
  }
  return text;
}

}  // namespace corral::control
