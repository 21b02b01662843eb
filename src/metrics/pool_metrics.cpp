#include "metrics/pool_metrics.hpp"

#include <fmt/format.h>

namespace corral::metrics {
namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// Label values here are names and numbers of our own; escaped anyway, as the format asks.
std::string escape(std::string_view value) {
  std::string escaped;
  for (const char c : value) {
    if (c == '\\' || c == '"') escaped.push_back('\\');
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped.push_back(c);
  }
  return escaped;
}

std::string seconds(std::uint64_t microseconds) {
  return fmt::format("{}", static_cast<double>(microseconds) / 1e6);
}

void render_tasks(std::string& out, const std::vector<tasks::TaskStatus>& all) {
  auto it = std::back_inserter(out);
  family(out, "corral_task_runs_total", "counter", "Runs of scheduled tasks, by outcome (one per worker for run_on = all).");
  for (const auto& task : all) {
    for (std::size_t i = 0; i < tasks::outcome_count; ++i) {
      fmt::format_to(it, "corral_task_runs_total{{task=\"{}\",outcome=\"{}\"}} {}\n", escape(task.name),
                     tasks::outcome_name(static_cast<tasks::Outcome>(i)), task.runs[i]);
    }
  }
  family(out, "corral_task_duration_seconds", "histogram", "How long task runs took: ok and failed ones, and crashed and timed-out ones until then.");
  for (const auto& task : all) {
    const auto name = escape(task.name);
    for (std::size_t i = 0; i < tasks::duration_buckets.size(); ++i) {
      fmt::format_to(it, "corral_task_duration_seconds_bucket{{task=\"{}\",le=\"{}\"}} {}\n", name,
                     tasks::duration_buckets[i], task.duration_le[i]);
    }
    fmt::format_to(it, "corral_task_duration_seconds_bucket{{task=\"{}\",le=\"+Inf\"}} {}\n", name, task.duration_count);
    fmt::format_to(it, "corral_task_duration_seconds_sum{{task=\"{}\"}} {}\n", name, task.duration_sum_seconds);
    fmt::format_to(it, "corral_task_duration_seconds_count{{task=\"{}\"}} {}\n", name, task.duration_count);
  }
  family(out, "corral_task_running", "gauge", "Task runs going now.");
  for (const auto& task : all) {
    fmt::format_to(it, "corral_task_running{{task=\"{}\"}} {}\n", escape(task.name), task.running);
  }
  family(out, "corral_task_next_run_timestamp_seconds", "gauge", "When each enabled task is next due.");
  for (const auto& task : all) {
    if (!task.next) continue;
    fmt::format_to(it, "corral_task_next_run_timestamp_seconds{{task=\"{}\"}} {}\n", escape(task.name),
                   static_cast<double>(task.next->time_since_epoch().count()) / 1000.0);
  }
}

}  // namespace

std::string render(const PoolMetrics& m) {
  std::string out;
  out.reserve(8192);
  auto it = std::back_inserter(out);

  family(out, "corral_build_info", "gauge", "The service and the corral version it runs on.");
  fmt::format_to(it, "corral_build_info{{service=\"{}\",version=\"{}\"}} 1\n", escape(m.service), escape(m.version));

  family(out, "corral_http_requests_total", "counter", "Responses sent, by status class.");
  for (std::size_t i = 0; i < m.requests.by_class.size(); ++i) {
    fmt::format_to(it, "corral_http_requests_total{{code=\"{}xx\"}} {}\n", i + 1, m.requests.by_class[i]);
  }
  family(out, "corral_http_request_duration_seconds", "histogram",
         "From a request's first byte to its response being queued for sending.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < ipc::duration_bounds_us.size(); ++i) {
    cumulative += m.requests.duration_buckets[i];
    fmt::format_to(it, "corral_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", seconds(ipc::duration_bounds_us[i]),
         cumulative);
  }
  cumulative += m.requests.duration_buckets.back();
  fmt::format_to(it, "corral_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  fmt::format_to(it, "corral_http_request_duration_seconds_sum {}\n", seconds(m.requests.duration_sum_us));
  fmt::format_to(it, "corral_http_request_duration_seconds_count {}\n", cumulative);
  family(out, "corral_http_response_bytes_total", "counter", "Bytes of responses, head and body.");
  fmt::format_to(it, "corral_http_response_bytes_total {}\n", m.requests.response_bytes);

  family(out, "corral_workers", "gauge", "Worker processes, by state.");
  for (std::size_t i = 0; i < worker_state_names.size(); ++i) {
    fmt::format_to(it, "corral_workers{{state=\"{}\"}} {}\n", worker_state_names[i], m.workers_by_state[i]);
  }
  family(out, "corral_worker_restarts_total", "counter", "Workers replaced, by cause.");
  for (std::size_t i = 0; i < restart_cause_names.size(); ++i) {
    fmt::format_to(it, "corral_worker_restarts_total{{cause=\"{}\"}} {}\n", restart_cause_names[i], m.restarts[i]);
  }
  family(out, "corral_worker_connections", "gauge", "Open client connections, by worker slot.");
  for (const auto& slot : m.slots) fmt::format_to(it, "corral_worker_connections{{slot=\"{}\"}} {}\n", slot.slot, slot.connections);
  family(out, "corral_worker_resident_memory_bytes", "gauge", "Resident memory of the slot's workers.");
  for (const auto& slot : m.slots) {
    fmt::format_to(it, "corral_worker_resident_memory_bytes{{slot=\"{}\"}} {}\n", slot.slot, slot.rss_bytes);
  }
  family(out, "corral_worker_cpu_seconds_total", "counter",
         "CPU time (user and system) of every worker the slot has had.");
  for (const auto& slot : m.slots) {
    fmt::format_to(it, "corral_worker_cpu_seconds_total{{slot=\"{}\"}} {}\n", slot.slot, slot.cpu_seconds);
  }

  if (m.store_configured) {
    family(out, "corral_store_up", "gauge", "1 when every worker reaches the store.");
    fmt::format_to(it, "corral_store_up {}\n", m.store_up ? 1 : 0);
    family(out, "corral_store_failovers_total", "counter",
           "Redis Sentinel: changes of the primary seen (by the worker that saw the most).");
    fmt::format_to(it, "corral_store_failovers_total {}\n", m.store_failovers);
    family(out, "corral_store_operations_total", "counter", "Store operations, failed or not.");
    fmt::format_to(it, "corral_store_operations_total {}\n", m.requests.store_operations);
    family(out, "corral_store_errors_total", "counter", "Store operations that failed.");
    fmt::format_to(it, "corral_store_errors_total {}\n", m.requests.store_failures);
    family(out, "corral_store_operation_duration_seconds", "summary", "Time from a store call to its result.");
    fmt::format_to(it, "corral_store_operation_duration_seconds_sum {}\n", seconds(m.requests.store_sum_us));
    fmt::format_to(it, "corral_store_operation_duration_seconds_count {}\n", m.requests.store_operations);
  }

  if (!m.tasks.empty()) render_tasks(out, m.tasks);

  family(out, "process_cpu_seconds_total", "counter", "The supervisor's CPU time, user and system.");
  fmt::format_to(it, "process_cpu_seconds_total {}\n", m.supervisor.cpu_seconds);
  family(out, "process_resident_memory_bytes", "gauge", "The supervisor's resident memory.");
  fmt::format_to(it, "process_resident_memory_bytes {}\n", m.supervisor.rss_bytes);
  family(out, "process_virtual_memory_bytes", "gauge", "The supervisor's virtual memory.");
  fmt::format_to(it, "process_virtual_memory_bytes {}\n", m.supervisor.virtual_bytes);
  family(out, "process_start_time_seconds", "gauge", "When the supervisor started, in seconds since the epoch.");
  fmt::format_to(it, "process_start_time_seconds {}\n", m.supervisor.start_time_seconds);
  family(out, "process_open_fds", "gauge", "The supervisor's open file descriptors.");
  fmt::format_to(it, "process_open_fds {}\n", m.supervisor.open_fds);
  family(out, "process_max_fds", "gauge", "The supervisor's limit of open file descriptors.");
  fmt::format_to(it, "process_max_fds {}\n", m.supervisor.max_fds);
  return out;
}

}  // namespace corral::metrics
