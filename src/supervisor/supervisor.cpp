#include "supervisor/supervisor.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/exit_code.hpp"
#include "common/system_error.hpp"
#include "config/app_config.hpp"
#include "config/config_file.hpp"
#include "net/endpoint.hpp"
#include "store/open_store.hpp"
#include "supervisor/cpu_count.hpp"
#include "supervisor/spawn.hpp"
#include "supervisor/wait_status.hpp"
#include "version.hpp"

// The loop reads like gunicorn's arbiter: wait for a signal, a worker's message or the
// next deadline; then, in one turn with one reading of the clock, reap, replace,
// retire, report.

namespace corral {
namespace {

// systemd is asked for this much more than the drain deadline to stop.
constexpr auto stop_margin = std::chrono::seconds(5);

template <class T>
void earliest(std::optional<Clock::time_point>& current, T candidate) {
  if (!current || candidate < *current) current = candidate;
}

}  // namespace

Supervisor::Supervisor(const ProgramDescription& program, CommandLine command_line, std::vector<UniqueFd> listen_fds,
                       bool socket_activated, UniqueFd metrics_listener)
    : program_(program),
      command_line_(std::move(command_line)),
      settings_(command_line_.settings),
      listen_fds_(std::move(listen_fds)),
      socket_activated_(socket_activated),
      table_(slots_for(settings_)),
      now_(Clock::now()),
      started_at_(now_),
      watchdog_(sd::Notifier::watchdog_interval() / 2),
      budget_(settings_.restart_limit, settings_.restart_window),
      metrics_listener_(std::move(metrics_listener)) {
  for (const auto& fd : listen_fds_) listen_fd_numbers_.push_back(fd.get());
  try {
    load_board_ = ipc::LoadBoard::create();
  } catch (const std::exception& error) {
    // Serving matters more than an even spread of connections.
    spdlog::warn("{}; workers will take connections without balancing them", error.what());
  }

}

Supervisor::~Supervisor() = default;

std::string Supervisor::check_before_start(const Settings& settings) const {
  if (settings.app.enabled()) {
    // A program that cannot be started is an error now, not a crash loop.
    spdlog::info("app: {} ({})", fmt::join(settings.app.command, " "),
                 find_app_program(settings.app, command_line_.config_path.value_or("the command line")));
    // The app keeps its own state; the store is the agent's, for its tasks.
    if (slots_for(settings) == resolve_worker_count(settings.workers)) return "off";
  }
  return detail::check_store_at_start(settings);
}

int Supervisor::run() {
  // Before any worker: a store file that cannot be used is an error an administrator
  // must see at start, naming the file, not a 503 in every worker.
  store_description_ = check_before_start(settings_);
  open_local_servers(std::move(metrics_listener_));
  std::vector<std::string> addresses;
  for (const int fd : listen_fd_numbers_) addresses.push_back(net::describe_local_address(fd));
  spdlog::info("supervisor started: {} workers on {}{} ({}corral {})", table_.slot_count(), fmt::join(addresses, ", "),
               socket_activated_ ? " (from systemd)" : "", program_.name == "corral" ? "" : program_.name + " on ",
               version);
  spdlog::info("store: {}", store_description_);
  if (settings_.enable_debug_routes) {
    spdlog::warn("debug routes are enabled: any client can crash or stall workers; never use --enable-debug-routes "
                 "in production");
  }
  if (watchdog_.enabled()) {
    spdlog::info("systemd watchdog enabled: pinging every {} ms",
                 std::chrono::duration_cast<std::chrono::milliseconds>(watchdog_.interval()).count());
  }
  configure_tasks(true);
  fill_vacant_slots();
  while (!(mode_ == Mode::stopping && table_.empty())) {
    wait_for_events();
    turn();
  }
  spdlog::info("supervisor stopped: every worker has exited");
  return exit_code_;
}

void Supervisor::wait_for_events() {
  std::vector<pollfd> polled{pollfd{signals_.fd(), POLLIN, 0}};
  std::vector<pid_t> owners{0};
  for (const auto& [pid, worker] : table_) {
    if (worker.message_fd() < 0) continue;
    polled.push_back(pollfd{worker.message_fd(), POLLIN, 0});
    owners.push_back(pid);
  }
  const auto workers_end = polled.size();
  if (control_) control_->add_to(polled);
  if (scrape_) scrape_->add_to(polled);
  int timeout = -1;
  if (const auto deadline = next_deadline()) {
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
    timeout = static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(wait.count(), 0, 60'000));
  }
  if (::poll(polled.data(), polled.size(), timeout) < 0 && errno != EINTR) {
    throw_system_error("poll", "waiting for signals and worker messages");
  }
  now_ = Clock::now();
  wall_now_ = tasks::read_wall_clock();
  for (std::size_t i = 1; i < workers_end; ++i) {
    if (polled[i].revents == 0) continue;
    if (auto* worker = table_.find(owners[i])) read_messages(*worker);
  }
  if (polled[0].revents & POLLIN) handle_signals();
  // Local clients come last: what they are told includes this turn's messages.
  const std::vector<pollfd> local(polled.begin() + static_cast<std::ptrdiff_t>(workers_end), polled.end());
  if (control_) control_->handle(local, now_);
  if (scrape_) scrape_->handle(local, now_);
}

void Supervisor::turn() {
  check_hung_workers();
  kill_overdue_app_workers();
  check_task_timeouts();
  if (mode_ == Mode::stopping && !table_.empty() && now_ >= stop_deadline_) {
    kill_all(fmt::format("drain deadline of {} passed", seconds_text(settings_.drain_timeout)));
  }
  // A retiring worker (reload, recycling) keeps serving until its successor is ready.
  for (const pid_t pid : retirees_to_drain(table_)) {
    auto& worker = *table_.find(pid);
    drain(worker, worker.retire_reason);
  }
  advance_reload();
  reset_stable_backoffs();
  fill_vacant_slots();
  check_start();
  check_terminal();
  reconcile();
  run_due_tasks();
  sample_workers();
  publish_status();
  ping_watchdog();
}

void Supervisor::handle_signals() {
  while (const auto signal = signals_.next()) {
    switch (*signal) {
      case SIGCHLD:
        reap_children();
        break;
      case SIGTERM:
      case SIGINT:
      case SIGQUIT:
        begin_stop(*signal);
        break;
      case SIGHUP:
        reload();
        break;
      default:
        break;
    }
  }
  // SIGCHLDs coalesce; reaping once more costs nothing and misses nobody.
  reap_children();
}

void Supervisor::begin_stop(int signal) {
  if (mode_ == Mode::stopping) {
    if (signal == SIGINT) kill_all("a second SIGINT asks to stop at once");
    return;
  }
  mode_ = Mode::stopping;
  rolling_reload_.cancel();
  stop_deadline_ = now_ + settings_.drain_timeout;
  spdlog::info("{} received: draining {} workers (deadline {})", signal_name(signal), table_.size(),
               seconds_text(settings_.drain_timeout));
  notifier_.stopping(fmt::format("stopping: draining {} workers", table_.size()),
                     std::chrono::duration_cast<std::chrono::microseconds>(settings_.drain_timeout + stop_margin));
  for (auto& [pid, worker] : table_) drain(worker, "stop");
}

void Supervisor::kill_all(std::string_view why) {
  if (killed_all_) return;
  killed_all_ = true;
  spdlog::warn("{}: killing {} remaining workers", why, table_.size());
  for (const auto& [pid, worker] : table_) ::kill(pid, SIGKILL);
}

void Supervisor::check_terminal() {
  if (mode_ == Mode::stopping) return;
  const bool any_ready = table_.count(WorkerState::ready) + table_.count(WorkerState::retiring) > 0;
  terminal_.observe(any_ready, !budget_.allows(now_), now_);
  if (!terminal_.reached(now_, settings_.terminal_timeout)) return;
  const auto why = fmt::format("restart budget spent and no worker ready for {} (terminal_timeout); last: {}",
                               seconds_text(settings_.terminal_timeout), counters_.last_event);
  spdlog::critical("{}: exiting so that systemd's Restart= and StartLimitBurst= decide", why);
  notifier_.failed(why, ECHILD);
  exit_code_ = exit_code::failure;
  begin_stop(SIGTERM);
}

void Supervisor::check_start() {
  if (mode_ != Mode::starting) return;
  if (table_.all_slots_ready()) {
    mode_ = Mode::serving;
    spdlog::info("all {} workers ready", table_.slot_count());
    notifier_.ready(status_text());
    return;
  }
  if (now_ < started_at_ + settings_.start_timeout) return;
  const auto ready = table_.count(WorkerState::ready);
  if (ready > 0) {
    mode_ = Mode::serving;
    spdlog::warn("only {} of {} workers became ready within {}; serving with those", ready, table_.slot_count(),
                 seconds_text(settings_.start_timeout));
    notifier_.ready(status_text());
    return;
  }
  const auto& last = counters_.last_event;
  const auto why = fmt::format("no worker became ready within {} (start_timeout){}", seconds_text(settings_.start_timeout),
                               last.empty() ? std::string{} : "; last: " + last);
  spdlog::critical("{}: giving up", why);
  notifier_.failed(why, ETIMEDOUT);
  exit_code_ = exit_code::failure;
  begin_stop(SIGTERM);
}

void Supervisor::ping_watchdog() {
  // Unhealthy: a worker that SIGKILL has not removed (stuck in the kernel). systemd's
  // watchdog then restarts the whole service.
  switch (watchdog_.on_turn(now_, !table_.has_unkillable_worker(now_, abort_grace))) {
    case WatchdogPinger::Action::ping:
      notifier_.watchdog();
      break;
    case WatchdogPinger::Action::withhold:
      spdlog::error("a worker survives SIGKILL: withholding the watchdog ping so that systemd restarts corral");
      break;
    case WatchdogPinger::Action::none:
      break;
  }
}

void Supervisor::publish_status() {
  if (mode_ == Mode::starting || mode_ == Mode::stopping) return;
  notifier_.status(mode_ == Mode::reloading ? fmt::format("reloading · {}", status_text()) : status_text());
}

std::optional<Clock::time_point> Supervisor::next_deadline() const {
  std::optional<Clock::time_point> next;
  if (mode_ == Mode::stopping) {
    if (!killed_all_) earliest(next, stop_deadline_);
  } else {
    if (const auto hold = table_.earliest_hold()) earliest(next, *hold);
    if (mode_ == Mode::starting) earliest(next, started_at_ + settings_.start_timeout);
    if (const auto terminal = terminal_.deadline(settings_.terminal_timeout)) earliest(next, *terminal);
  }
  if (const auto ping = watchdog_.next_deadline()) earliest(next, *ping);
  earliest(next, next_reconcile_);
  for (const auto& [pid, worker] : table_) {
    if (const auto hang = hang_deadline(worker, settings_.hang_timeout)) earliest(next, *hang);
    if (worker.kill_at && !worker.kill_sent_at) earliest(next, *worker.kill_at);
  }
  if (control_) {
    if (const auto idle = control_->next_deadline()) earliest(next, *idle);
  }
  if (scrape_) {
    if (const auto idle = scrape_->next_deadline()) earliest(next, *idle);
  }
  if (!table_.empty()) earliest(next, next_sample_);
  if (const auto task = next_task_deadline()) earliest(next, *task);
  return next;
}

}  // namespace corral
