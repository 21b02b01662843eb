#include "control/pool_view.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tasks/task_scheduler.hpp"

namespace corral::control {

// WITH_DEFAULT: a field added later may be missing from an older supervisor's answer.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(WorkerView, slot, pid, generation, state, uptime_seconds, requests,
                                                requests_per_second, connections, restarts, last_exit, rss_bytes,
                                                cpu_percent, status)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TaskView, name, schedule, run_on, enabled, next_run, last_run, last_outcome,
                                   last_duration_seconds, running, runs)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PoolView, service, version, supervisor_pid, uptime_seconds, pool_size,
                                                mode, store, store_state, store_primary, store_failovers, requests,
                                                restarts, app, workers, time, tasks)

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

// "in 42s", "3m 10s ago", "-".
std::string relative_text(double when, double now) {
  if (when <= 0) return "-";
  return when >= now ? "in " + duration_text(when - now) : duration_text(now - when) + " ago";
}

std::string task_table(const PoolView& view) {
  std::string text = fmt::format("\n{:<20} {:<34} {:<4} {:>12} {:<10} {:>9} {:>12} {:>7} {:>7}\n", "task", "schedule",
                                 "on", "last run", "outcome", "took", "next run", "ok", "failed");
  for (const auto& task : view.tasks) {
    const auto count = [&task](const char* outcome) {
      const auto found = task.runs.find(outcome);
      return found == task.runs.end() ? std::uint64_t{0} : found->second;
    };
    std::uint64_t failed = 0;
    for (const auto outcome : tasks::failure_outcomes) failed += count(tasks::outcome_name(outcome));
    text += fmt::format("{:<20} {:<34} {:<4} {:>12} {:<10} {:>9} {:>12} {:>7} {:>7}\n", task.name, task.schedule,
                        task.run_on, relative_text(task.last_run, view.time),
                        task.running > 0 ? "running" : task.last_outcome.empty() ? "-" : task.last_outcome,
                        task.last_outcome.empty() ? "-" : fmt::format("{:.3f}s", task.last_duration_seconds),
                        task.enabled ? relative_text(task.next_run, view.time) : "disabled", count("ok"), failed);
  }
  return text;
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
  const bool app = !view.app.empty();
  // An app's requests are its own: "-" where corral would show counts.
  const auto count = [app](auto value) { return app ? std::string("-") : fmt::format("{}", value); };
  const auto rate = [app](double value) { return app ? std::string("-") : fmt::format("{:.1f}", value); };
  std::string text = fmt::format("{} (pid {}, {}) · {} · {}/{} workers ready · {} · {} requests · {} restarts · up "
                                 "{}\n",
                                 view.service, view.supervisor_pid, view.version, view.mode, ready, view.pool_size,
                                 app ? "app " + view.app
                                     : fmt::format("store {} {}{}", view.store, view.store_state,
                                                   view.store_primary.empty() ? std::string()
                                                                              : ", primary " + view.store_primary),
                                 count(view.requests), view.restarts, duration_text(view.uptime_seconds));
  text += fmt::format("{:<5} {:<8} {:>4} {:<9} {:>8} {:>10} {:>8} {:>6} {:>8}  {:<26} {:>9} {:>6}\n", "slot", "pid",
                      "gen", "state", "uptime", "requests", "req/s", "conns", "restarts", "last exit", "rss", "cpu");
  for (const auto& worker : view.workers) {
    text += fmt::format("{:<5} {:<8} {:>4} {:<9} {:>8} {:>10} {:>8} {:>6} {:>8}  {:<26} {:>9} {:>5.1f}%\n",
                        worker.slot, worker.pid, worker.generation, worker.state,
                        duration_text(worker.uptime_seconds), count(worker.requests),
                        rate(worker.requests_per_second), count(worker.connections), worker.restarts,
                        worker.last_exit.empty() ? "-" : worker.last_exit, bytes_text(worker.rss_bytes),
                        worker.cpu_percent);
    if (!worker.status.empty()) text += fmt::format("      {}\n", worker.status);
  }
  if (!view.tasks.empty()) text += task_table(view);
  return text;
}

}  // namespace corral::control
