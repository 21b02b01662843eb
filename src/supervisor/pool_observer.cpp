// How the supervisor shows its pool: the control socket (corral status), the metrics
// endpoint, and the per-worker samples behind them.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/protocol.hpp"
#include "net/endpoint.hpp"
#include "control/socket_path.hpp"
#include "store/store_backend.hpp"
#include "supervisor/process_usage.hpp"
#include "supervisor/supervisor.hpp"
#include "version.hpp"

namespace corral {
namespace {

constexpr auto sample_interval = std::chrono::seconds(1);

const char* state_name(const WorkerRecord& worker) {
  if (worker.abort_sent_at) return "hung";
  switch (worker.state) {
    case WorkerState::starting: return "starting";
    case WorkerState::ready: return "ready";
    case WorkerState::retiring: return "retiring";
    case WorkerState::draining: return "draining";
  }
  return "unknown";
}

std::size_t state_index(const WorkerRecord& worker) {
  if (worker.abort_sent_at) return 4;
  return static_cast<std::size_t>(worker.state);
}

}  // namespace

void Supervisor::open_local_servers(UniqueFd metrics_listener) {
  const auto path = settings_.control_socket.empty() ? control::default_socket_path(program_.name)
                                                     : settings_.control_socket;
  try {
    control_ = std::make_unique<control::ControlServer>(path, [this](const std::string& line) {
      return answer_control(line);
    });
    spdlog::info("control socket: {} ({} status)", path, program_.name);
  } catch (const std::exception& error) {
    // Serving matters more than being watched: say so and carry on.
    spdlog::error("{}; `{} status` will not work", error.what(), program_.name);
  }
  if (metrics_listener.valid()) {
    spdlog::info("metrics: GET /metrics on {}", net::describe_local_address(metrics_listener.get()));
    scrape_ = std::make_unique<metrics::ScrapeServer>(std::move(metrics_listener),
                                                      [this] { return metrics::render(pool_metrics()); });
  }
}

StoreView Supervisor::store_view() const {
  StoreView view{store_description_, 0, 0, {}, 0};
  if (!load_board_.valid()) return view;
  for (const auto& entry : load_board_.entries()) {
    const auto pid = entry.pid.load(std::memory_order_relaxed);
    if (pid == 0 || table_.find(pid) == nullptr) continue;
    const auto health = static_cast<detail::StoreHealth>(entry.store_health.load(std::memory_order_relaxed));
    if (health == detail::StoreHealth::off) continue;
    ++view.reporting;
    if (health == detail::StoreHealth::down) ++view.down;
    view.failovers = std::max(view.failovers, entry.store_failovers.load(std::memory_order_relaxed));
    if (view.primary.empty() && health == detail::StoreHealth::up) view.primary = entry.store_primary.load();
  }
  return view;
}

void Supervisor::sample_workers() {
  if (now_ < next_sample_) return;
  next_sample_ = now_ + sample_interval;
  for (auto& [pid, worker] : table_) {
    const auto usage = read_process_usage(pid);
    if (!usage) continue;
    worker.rss_bytes = usage->rss_bytes;
    worker.cpu_rate.add(now_, usage->cpu_seconds);
    std::uint64_t requests = worker.requests;
    if (const auto* entry = load_board_.find(pid)) requests = ipc::read(entry->requests).requests();
    worker.request_rate.add(now_, static_cast<double>(requests));
  }
  // corral's own workers are looked at on each heartbeat; an app may send none.
  for (auto& [pid, worker] : table_) {
    if (worker.is_app()) maybe_recycle(worker);
  }
}

void Supervisor::fold_exited_worker(WorkerRecord& worker, ipc::RequestTotals counted, double cpu_seconds) {
  // Without a board entry, its heartbeats' count is all there is.
  if (worker.requests > counted.requests()) counted.unclassified += worker.requests - counted.requests();
  worker.requests = counted.requests();
  counters_.retired += counted;
  counters_.retired_cpu_seconds[worker.slot] += cpu_seconds;
}

void Supervisor::note_restart(metrics::RestartCause cause, unsigned slot) {
  ++counters_.restarts_by_cause[static_cast<std::size_t>(cause)];
  if (cause != metrics::RestartCause::recycle && slot < table_.slot_count()) ++table_.slot(slot).restarts;
}

const char* Supervisor::mode_name() const {
  switch (mode_) {
    case Mode::starting: return "starting";
    case Mode::serving: return "serving";
    case Mode::reloading: return "reloading";
    case Mode::stopping: return "stopping";
  }
  return "unknown";
}

control::PoolView Supervisor::pool_view() const {
  control::PoolView view;
  view.service = program_.name;
  view.version = version;
  view.supervisor_pid = ::getpid();
  view.uptime_seconds = std::chrono::duration<double>(now_ - started_at_).count();
  view.pool_size = table_.slot_count();
  view.mode = mode_name();
  const auto store = store_view();
  view.store = store.description;
  view.store_state = store.description == "off" ? "off" : store.down > 0 ? "down" : "up";
  view.store_primary = store.primary;
  view.store_failovers = store.failovers;
  view.requests = counters_.retired.requests();
  view.restarts = counters_.restarts;
  if (settings_.app.enabled()) view.app = fmt::format("{}", fmt::join(settings_.app.command, " "));
  for (const auto& [pid, worker] : table_) {
    control::WorkerView row;
    row.slot = worker.slot;
    row.pid = pid;
    row.generation = worker.generation;
    row.state = state_name(worker);
    row.uptime_seconds = std::chrono::duration<double>(now_ - worker.started_at).count();
    row.requests = worker.requests;
    if (const auto* entry = load_board_.find(pid)) {
      row.requests = std::max(row.requests, ipc::read(entry->requests).requests());
      row.connections = entry->connections.load(std::memory_order_relaxed);
    }
    view.requests += row.requests;
    row.status = worker.app_status;
    row.requests_per_second = worker.request_rate.per_second();
    row.cpu_percent = worker.cpu_rate.per_second() * 100;
    const auto usage = read_process_usage(pid);
    row.rss_bytes = usage ? usage->rss_bytes : worker.rss_bytes;
    if (worker.slot < table_.slot_count()) {
      row.restarts = table_.slot(worker.slot).restarts;
      row.last_exit = table_.slot(worker.slot).last_exit;
    }
    view.workers.push_back(std::move(row));
  }
  std::sort(view.workers.begin(), view.workers.end(), [](const auto& a, const auto& b) {
    return a.slot != b.slot ? a.slot < b.slot : a.generation < b.generation;
  });
  const auto seconds = [](tasks::WallTime time) {
    return std::chrono::duration<double>(time.time_since_epoch()).count();
  };
  view.time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& task : scheduler_.status()) {
    control::TaskView row;
    row.name = task.name;
    row.schedule = task.schedule;
    row.run_on = tasks::run_on_name(task.run_on);
    row.enabled = task.enabled;
    if (task.next) row.next_run = seconds(*task.next);
    if (task.last) {
      row.last_run = seconds(task.last->scheduled);
      row.last_outcome = tasks::outcome_name(task.last->outcome);
      row.last_duration_seconds = std::chrono::duration<double>(task.last->duration).count();
    }
    row.running = task.running;
    for (std::size_t i = 0; i < tasks::outcome_count; ++i) {
      if (task.runs[i] > 0) row.runs[tasks::outcome_name(static_cast<tasks::Outcome>(i))] = task.runs[i];
    }
    view.tasks.push_back(std::move(row));
  }
  return view;
}

metrics::PoolMetrics Supervisor::pool_metrics() const {
  metrics::PoolMetrics m;
  m.service = program_.name;
  m.version = version;
  m.requests = counters_.retired;
  m.restarts = counters_.restarts_by_cause;
  std::map<unsigned, metrics::SlotMetrics> slots;
  for (unsigned slot = 0; slot < table_.slot_count(); ++slot) slots[slot].slot = slot;
  for (const auto& [slot, seconds] : counters_.retired_cpu_seconds) {
    slots[slot].slot = slot;
    slots[slot].cpu_seconds += seconds;
  }
  for (const auto& [pid, worker] : table_) {
    ++m.workers_by_state[state_index(worker)];
    auto& slot = slots[worker.slot];
    slot.slot = worker.slot;
    slot.rss_bytes += worker.rss_bytes;
    // Read now, not from the last sample: a counter must not lag what it already showed.
    const auto usage = read_process_usage(pid);
    slot.cpu_seconds += usage ? usage->cpu_seconds : worker.cpu_rate.latest();
    if (const auto* entry = load_board_.find(pid)) {
      m.requests += ipc::read(entry->requests);
      slot.connections += entry->connections.load(std::memory_order_relaxed);
    }
  }
  for (auto& [number, slot] : slots) m.slots.push_back(slot);
  const auto store = store_view();
  m.store_configured = store.description != "off" && !store.description.empty();
  m.store_up = store.down == 0;
  m.store_failovers = store.failovers;
  if (const auto self = read_process_usage(::getpid())) {
    m.supervisor = {self->cpu_seconds, self->rss_bytes, self->virtual_bytes, 0, 0, 0};
  }
  // Read from the wall clock at start: the unit's ProcSubset=pid hides /proc/stat's
  // boot time, which /proc's start time would need.
  m.supervisor.start_time_seconds =
      std::chrono::duration<double>(started_wall_clock_.time_since_epoch()).count();
  m.tasks = scheduler_.status();
  m.supervisor.open_fds = open_fd_count();
  m.supervisor.max_fds = max_fd_count();
  return m;
}

std::string Supervisor::answer_control(const std::string& line) {
  const auto command = control::parse_command(line);  // throws the error the client gets
  if (command.name == "status") return control::ok_answer("status", control::to_json(pool_view()));
  if (command.name == "task-run") return control::ok_answer("run", run_task_now(command.task));
  return control::error_answer("unknown command");
}

}  // namespace corral
