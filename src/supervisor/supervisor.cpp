#include "supervisor/supervisor.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/exit_code.hpp"
#include "common/system_error.hpp"
#include "config/config_file.hpp"
#include "net/endpoint.hpp"
#include "supervisor/cpu_count.hpp"
#include "supervisor/spawn.hpp"
#include "version.hpp"

namespace corral {
namespace {

// posix_spawn itself failed (out of memory or pids): try that slot again after this.
constexpr auto spawn_retry_delay = std::chrono::seconds(1);
// A hung worker gets SIGABRT (its crash guard sends a suicide notice and it dumps
// core), then SIGKILL if it is still there after this long.
constexpr auto abort_grace = std::chrono::seconds(5);
// Desired and actual pool size are compared this often, whatever else happens.
constexpr auto reconcile_interval = std::chrono::seconds(5);
// systemd is asked for this much more than the drain deadline to stop.
constexpr auto stop_margin = std::chrono::seconds(5);

std::string signal_name(int signal) {
  const char* abbreviation = sigabbrev_np(signal);
  return abbreviation ? fmt::format("SIG{}", abbreviation) : fmt::format("signal {}", signal);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by {}{}", signal_name(WTERMSIG(status)),
                       WCOREDUMP(status) ? " (core dumped)" : "");
  }
  return fmt::format("changed state (wait status {:#x})", status);
}

bool exited_cleanly(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string seconds(std::chrono::milliseconds value) {
  return fmt::format("{:g} s", static_cast<double>(value.count()) / 1000.0);
}

unsigned resolve_worker_count(const Settings& settings) {
  return settings.workers == 0 ? default_worker_count() : settings.workers;
}

template <class T>
void earliest(std::optional<Clock::time_point>& current, T candidate) {
  if (!current || candidate < *current) current = candidate;
}

}  // namespace

Supervisor::Supervisor(const ProgramDescription& program, CommandLine command_line, std::vector<UniqueFd> listen_fds,
                       bool socket_activated)
    : program_(program),
      command_line_(std::move(command_line)),
      settings_(command_line_.settings),
      listen_fds_(std::move(listen_fds)),
      socket_activated_(socket_activated),
      table_(resolve_worker_count(settings_)),
      started_at_(Clock::now()),
      budget_(settings_.restart_limit, settings_.restart_window),
      backoffs_(table_.slot_count()),
      replacing_after_failure_(table_.slot_count(), false) {
  for (const auto& fd : listen_fds_) listen_fd_numbers_.push_back(fd.get());
  try {
    load_board_ = ipc::LoadBoard::create();
  } catch (const std::exception& error) {
    // Serving matters more than an even spread of connections.
    spdlog::warn("{}; workers will take connections without balancing them", error.what());
  }

  // Signals are read from a signalfd in the main loop, never handled asynchronously.
  sigset_t handled;
  sigemptyset(&handled);
  for (const int signal : {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP}) sigaddset(&handled, signal);
  if (::sigprocmask(SIG_BLOCK, &handled, &original_mask_) != 0) {
    throw_system_error("sigprocmask", "blocking the signals the supervisor reads from a signalfd");
  }
  signal_fd_.reset(::signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd_.valid()) throw_system_error("signalfd", "preparing the supervisor's signal handling");
  ::signal(SIGPIPE, SIG_IGN);

  watchdog_interval_ = sd::Notifier::watchdog_interval() / 2;
}

Supervisor::~Supervisor() {
  ::sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
}

int Supervisor::run() {
  std::vector<std::string> addresses;
  for (const int fd : listen_fd_numbers_) addresses.push_back(net::describe_local_address(fd));
  spdlog::info("supervisor started: {} workers on {}{} ({}corral {})", table_.slot_count(), fmt::join(addresses, ", "),
               socket_activated_ ? " (from systemd)" : "", program_.name == "corral" ? "" : program_.name + " on ",
               version);
  if (settings_.enable_debug_routes) {
    spdlog::warn("debug routes are enabled: any client can crash or stall workers; never use --enable-debug-routes "
                 "in production");
  }
  if (watchdog_interval_.count() > 0) {
    spdlog::info("systemd watchdog enabled: pinging every {} ms",
                 std::chrono::duration_cast<std::chrono::milliseconds>(watchdog_interval_).count());
  }
  fill_vacant_slots(Clock::now());

  std::vector<pollfd> polled;
  std::vector<pid_t> owners;
  while (!(stopping_ && table_.empty())) {
    polled.assign(1, pollfd{signal_fd_.get(), POLLIN, 0});
    owners.assign(1, 0);
    for (const auto& [pid, worker] : table_) {
      if (!worker.channel.open()) continue;
      polled.push_back(pollfd{worker.channel.fd(), POLLIN, 0});
      owners.push_back(pid);
    }
    int timeout = -1;
    if (const auto deadline = next_deadline()) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
      timeout = static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(wait.count(), 0, 60'000));
    }
    if (::poll(polled.data(), polled.size(), timeout) < 0 && errno != EINTR) {
      throw_system_error("poll", "waiting for signals and worker messages");
    }
    for (std::size_t i = 1; i < polled.size(); ++i) {
      if (polled[i].revents == 0) continue;
      if (auto* worker = table_.find(owners[i])) read_messages(*worker);
    }
    if (polled[0].revents & POLLIN) handle_signals();
    const auto now = Clock::now();
    check_hung_workers(now);
    if (stopping_ && !table_.empty() && now >= stop_deadline_) {
      kill_all(fmt::format("drain deadline of {} passed", seconds(settings_.drain_timeout)));
    }
    advance_reload();
    retire_replaced_workers();
    reset_stable_backoffs(now);
    fill_vacant_slots(now);
    check_start(now);
    check_terminal(now);
    reconcile(now);
    publish_status();
    ping_watchdog(now);
  }
  spdlog::info("supervisor stopped: every worker has exited");
  return exit_code_;
}

void Supervisor::start_worker(unsigned slot) {
  const auto generation = table_.take_generation(slot);
  auto [ours, theirs] = ipc::Channel::make_pair(fmt::format("worker {}", slot));
  WorkerIdentity identity{slot, generation, ::getpid(), listen_fd_numbers_, theirs.fd(), load_board_.fd()};
  std::vector<int> inherited = listen_fd_numbers_;
  inherited.push_back(theirs.fd());
  if (load_board_.valid()) inherited.push_back(load_board_.fd());
  const pid_t pid =
      spawn_process("/proc/self/exe", program_.name, worker_arguments(*program_.table, settings_, identity), inherited);
  auto& worker = table_.add(slot, generation, pid, std::move(ours), Clock::now());
  worker.request_limit = request_limit(settings_.max_requests, std::uniform_real_distribution<double>(0, 1)(random_));
  spdlog::info("worker {} started: pid {}, generation {}", slot, pid, generation);
}

void Supervisor::fill_vacant_slots(Clock::time_point now) {
  if (stopping_) return;
  for (const unsigned slot : table_.vacant_slots(now)) {
    if (replacing_after_failure_[slot]) {
      if (!budget_.allows(now)) {
        // Past the budget nothing is forked until the window lets one more through.
        table_.hold_slot(slot, budget_.next_allowed(now));
        if (!budget_spent_announced_) {
          budget_spent_announced_ = true;
          last_event_ = fmt::format("restart budget spent ({} restarts in {})", budget_.limit(),
                                    seconds(std::chrono::duration_cast<std::chrono::milliseconds>(budget_.window())));
          spdlog::error("restart budget spent: {} restarts in the last {}; worker {} stays down until the window "
                        "allows another ({} from now)",
                        budget_.limit(),
                        seconds(std::chrono::duration_cast<std::chrono::milliseconds>(budget_.window())), slot,
                        seconds(std::chrono::ceil<std::chrono::milliseconds>(budget_.next_allowed(now) - now)));
        }
        continue;
      }
      budget_.record(now);
      budget_spent_announced_ = false;
    }
    try {
      start_worker(slot);
      replacing_after_failure_[slot] = false;
    } catch (const std::exception& error) {
      spdlog::error("worker {} could not be started, retrying in {} s: {}", slot, spawn_retry_delay.count(),
                    error.what());
      table_.hold_slot(slot, now + spawn_retry_delay);
    }
  }
}

void Supervisor::note_failure(const WorkerRecord& worker, Clock::time_point now, const std::string& how) {
  ++restarts_;
  last_event_ = fmt::format("worker {} {}", worker.slot, how);
  if (worker.slot >= table_.slot_count()) return;  // its slot went away in a reload
  replacing_after_failure_[worker.slot] = true;
  if (failed_to_start(worker.was_ready, worker.requests, now - worker.started_at, settings_.min_uptime)) {
    const auto delay = backoffs_[worker.slot].on_failed_start();
    table_.hold_slot(worker.slot, now + delay);
    spdlog::error("worker {} (pid {}) failed to start: it {}; next start in {} ms (backoff)", worker.slot,
                  worker.pid, how, std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
  }
}

void Supervisor::handle_signals() {
  signalfd_siginfo info;
  while (::read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    const int signal = static_cast<int>(info.ssi_signo);
    switch (signal) {
      case SIGCHLD:
        reap_children();
        break;
      case SIGTERM:
      case SIGINT:
      case SIGQUIT:
        begin_stop(signal);
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

void Supervisor::reap_children() {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    // A worker that died without freeing its entry would count as a peer forever.
    load_board_.release(pid);
    auto* worker = table_.find(pid);
    if (worker == nullptr) continue;
    // A worker's last messages (a suicide notice just before a fatal signal) are still in
    // the channel: read them before judging how it ended.
    read_messages(*worker);
    on_worker_exit(std::move(*table_.remove(pid)), status);
  }
}

void Supervisor::read_messages(WorkerRecord& worker) {
  ipc::Message message;
  while (worker.channel.open()) {
    switch (worker.channel.receive(message)) {
      case ipc::Received::message:
        handle_message(worker, message);
        break;
      case ipc::Received::malformed:
        spdlog::warn("worker {} (pid {}) sent a datagram that is not a corral message; ignored", worker.slot,
                     worker.pid);
        break;
      case ipc::Received::closed:
        worker.channel.close();
        return;
      case ipc::Received::nothing:
        return;
    }
  }
}

void Supervisor::handle_message(WorkerRecord& worker, const ipc::Message& message) {
  worker.last_heard = Clock::now();
  switch (message.kind) {
    case ipc::Kind::ready:
      worker.requests = message.value;
      worker.was_ready = true;
      if (worker.state == WorkerState::starting) {
        worker.state = WorkerState::ready;
        worker.ready_at = worker.last_heard;
        spdlog::info("worker {} ready: pid {}, generation {}", worker.slot, worker.pid, worker.generation);
      }
      break;
    case ipc::Kind::heartbeat:
      worker.requests = message.value;
      maybe_recycle(worker);
      break;
    case ipc::Kind::suicide_notice: {
      const auto reason = std::string(message.reason_text());
      worker.requests = std::max(worker.requests, message.value);
      const bool was_serving = worker.state != WorkerState::draining;
      worker.state = WorkerState::draining;
      worker.drain_reason = "suicide notice";
      if (!stopping_ && was_serving) {
        spdlog::warn("worker {} (pid {}) sent a suicide notice: {}; starting its replacement now", worker.slot,
                     worker.pid, reason);
        note_failure(worker, Clock::now(), fmt::format("suicide ({})", reason));
      }
      break;
    }
    case ipc::Kind::drain:
      break;  // only the supervisor sends these
  }
}

void Supervisor::on_worker_exit(WorkerRecord worker, int wait_status) {
  retired_requests_ += worker.requests;
  const auto how = describe_wait_status(wait_status);
  if (worker.state == WorkerState::draining) {
    const auto log_level = exited_cleanly(wait_status) ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(log_level, "worker {} (pid {}, generation {}) {} after {}", worker.slot, worker.pid,
                worker.generation, how, worker.drain_reason);
    return;
  }
  if (stopping_) {
    spdlog::warn("worker {} (pid {}) {} while stopping", worker.slot, worker.pid, how);
    return;
  }
  spdlog::error("worker {} (pid {}, generation {}) {} without a suicide notice; replacing it", worker.slot,
                worker.pid, worker.generation, how);
  note_failure(worker, Clock::now(), how);
}

void Supervisor::drain(WorkerRecord& worker, std::string reason) {
  if (worker.drain_sent) return;
  worker.drain_sent = true;
  if (worker.state != WorkerState::draining) {
    worker.state = WorkerState::draining;
    worker.drain_reason = std::move(reason);
  }
  const auto message = ipc::Message::drain(static_cast<std::uint64_t>(settings_.drain_timeout.count()));
  if (!worker.channel.open() || !worker.channel.send(message)) {
    // The channel is gone or full: SIGTERM asks a worker for the same graceful drain.
    ::kill(worker.pid, SIGTERM);
  }
}

void Supervisor::begin_stop(int signal) {
  if (stopping_) {
    if (signal == SIGINT) kill_all("a second SIGINT asks to stop at once");
    return;
  }
  stopping_ = true;
  reloading_ = false;
  stop_deadline_ = Clock::now() + settings_.drain_timeout;
  spdlog::info("{} received: draining {} workers (deadline {})", signal_name(signal), table_.size(),
               seconds(settings_.drain_timeout));
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

void Supervisor::reload() {
  if (stopping_) return;
  spdlog::info("SIGHUP received: reloading the configuration{}",
               command_line_.config_path ? " from " + *command_line_.config_path : std::string{});
  notifier_.reloading(fmt::format("reloading · {}", status_text()));
  CommandLine next;
  try {
    next = parse_arguments(command_line_.arguments, program_);
  } catch (const ConfigError& error) {
    spdlog::error("reload failed, still running the previous configuration: {}", error.what());
    last_event_ = fmt::format("reload failed: {}", error.what());
    notifier_.ready(status_text());
    return;
  } catch (const ExitRequest&) {
    spdlog::error("reload failed: the command line no longer parses; still running the previous configuration");
    notifier_.ready(status_text());
    return;
  }
  if (!socket_activated_ && next.settings.listen != settings_.listen) {
    spdlog::warn("listen changed from {} to {}: the socket stays where it is until a restart", settings_.listen,
                 next.settings.listen);
  }
  settings_ = next.settings;
  spdlog::default_logger()->set_level(settings_.log_level);
  budget_.reconfigure(settings_.restart_limit, settings_.restart_window);

  const unsigned slots = resolve_worker_count(settings_);
  if (slots != table_.slot_count()) {
    spdlog::info("pool size changes from {} to {} workers", table_.slot_count(), slots);
    table_.resize(slots);
    backoffs_.resize(slots);
    replacing_after_failure_.resize(slots, false);
    for (auto& [pid, worker] : table_) {
      if (worker.slot >= slots) drain(worker, "reload (slot removed)");
    }
  }
  reload_queue_.clear();
  for (const auto& [pid, worker] : table_) {
    if (worker.state == WorkerState::starting || worker.state == WorkerState::ready) reload_queue_.push_back(pid);
  }
  reloading_ = true;
  spdlog::info("configuration loaded; replacing {} workers one at a time", reload_queue_.size());
  advance_reload();
}

bool Supervisor::retire_replaced_workers() {
  // A retiring worker keeps serving until its successor is ready; then it drains.
  bool waiting = false;
  for (auto& [pid, worker] : table_) {
    if (worker.state != WorkerState::retiring) continue;
    if (table_.slot_has_ready_worker(worker.slot)) {
      drain(worker, worker.retire_reason);
    } else {
      waiting = true;
    }
  }
  return waiting;
}

void Supervisor::advance_reload() {
  if (!reloading_ || stopping_) return;
  if (retire_replaced_workers()) return;
  while (!reload_queue_.empty()) {
    auto* worker = table_.find(reload_queue_.front());
    reload_queue_.pop_front();
    if (worker && (worker->state == WorkerState::starting || worker->state == WorkerState::ready)) {
      worker->state = WorkerState::retiring;  // its slot is now vacant: a successor starts
      worker->retire_reason = "reload";
      return;
    }
  }
  reloading_ = false;
  last_event_ = "reloaded";
  spdlog::info("reload complete: every worker runs the new configuration");
  notifier_.ready(status_text());
}

RecyclePolicy Supervisor::recycle_policy() const {
  return {settings_.max_requests, settings_.max_rss_mib << 20};
}

void Supervisor::maybe_recycle(WorkerRecord& worker) {
  const auto policy = recycle_policy();
  if (!policy.enabled() || stopping_ || reloading_ || worker.state != WorkerState::ready) return;
  // One at a time, so the pool never loses more than one worker's worth of capacity.
  if (table_.count(WorkerState::retiring) > 0) return;
  const auto rss = policy.max_rss_bytes > 0 ? process_rss(worker.pid).value_or(0) : 0;
  const auto reason = recycle_reason(policy, worker.requests, worker.request_limit, rss);
  if (!reason) return;
  worker.state = WorkerState::retiring;
  worker.retire_reason = "recycle";
  ++recycled_;
  last_event_ = fmt::format("worker {} recycled", worker.slot);
  spdlog::info("recycling worker {} (pid {}): {}; its successor starts now", worker.slot, worker.pid, *reason);
}

void Supervisor::reset_stable_backoffs(Clock::time_point now) {
  for (const auto& [pid, worker] : table_) {
    if (worker.ready_at && now - *worker.ready_at >= StartBackoff::stable_after && worker.slot < backoffs_.size()) {
      backoffs_[worker.slot].reset();
    }
  }
}

void Supervisor::reconcile(Clock::time_point now) {
  if (now < next_reconcile_) return;
  next_reconcile_ = now + reconcile_interval;
  // Children are reaped on SIGCHLD; reaping here too means a lost signal cannot leave a
  // dead worker in the table, holding its slot.
  reap_children();
  if (stopping_) return;
  const auto serving = table_.count(WorkerState::starting) + table_.count(WorkerState::ready);
  if (serving >= table_.slot_count()) {
    if (reported_shortfall_) spdlog::info("pool back to its size: {} workers", table_.slot_count());
    reported_shortfall_.reset();
    return;
  }
  if (reported_shortfall_ == serving) return;
  reported_shortfall_ = serving;
  const auto next_start = table_.earliest_hold();
  spdlog::warn("pool below its size: {} of {} workers serving{}", serving, table_.slot_count(),
               next_start ? fmt::format("; next start in {}",
                                        seconds(std::chrono::ceil<std::chrono::milliseconds>(*next_start - now)))
                          : std::string{});
}

void Supervisor::check_terminal(Clock::time_point now) {
  if (stopping_) return;
  const bool any_ready = table_.count(WorkerState::ready) + table_.count(WorkerState::retiring) > 0;
  terminal_.observe(any_ready, !budget_.allows(now), now);
  if (!terminal_.reached(now, settings_.terminal_timeout)) return;
  const auto why = fmt::format("restart budget spent and no worker ready for {} (terminal_timeout); last: {}",
                               seconds(settings_.terminal_timeout), last_event_);
  spdlog::critical("{}: exiting so that systemd's Restart= and StartLimitBurst= decide", why);
  notifier_.failed(why, ECHILD);
  exit_code_ = exit_code::failure;
  begin_stop(SIGTERM);
}

void Supervisor::check_hung_workers(Clock::time_point now) {
  for (auto& [pid, worker] : table_) {
    if (!worker.abort_sent_at && now - worker.last_heard >= settings_.hang_timeout) {
      worker.abort_sent_at = now;
      last_event_ = fmt::format("worker {} hung", worker.slot);
      spdlog::error("worker {} (pid {}) has sent nothing for {}: sending SIGABRT", worker.slot, pid,
                    seconds(settings_.hang_timeout));
      ::kill(pid, SIGABRT);
    } else if (worker.abort_sent_at && !worker.kill_sent_at && now - *worker.abort_sent_at >= abort_grace) {
      worker.kill_sent_at = now;
      spdlog::error("worker {} (pid {}) is still there {} s after SIGABRT: sending SIGKILL", worker.slot, pid,
                    abort_grace.count());
      ::kill(pid, SIGKILL);
    }
  }
}

void Supervisor::check_start(Clock::time_point now) {
  if (announced_ready_ || stopping_) return;
  if (table_.all_slots_ready()) {
    announced_ready_ = true;
    spdlog::info("all {} workers ready", table_.slot_count());
    notifier_.ready(status_text());
    return;
  }
  if (now < started_at_ + settings_.start_timeout) return;
  const auto ready = table_.count(WorkerState::ready);
  if (ready > 0) {
    announced_ready_ = true;
    spdlog::warn("only {} of {} workers became ready within {}; serving with those", ready, table_.slot_count(),
                 seconds(settings_.start_timeout));
    notifier_.ready(status_text());
    return;
  }
  const auto why = fmt::format("no worker became ready within {} (start_timeout){}", seconds(settings_.start_timeout),
                               last_event_.empty() ? std::string{} : "; last: " + last_event_);
  spdlog::critical("{}: giving up", why);
  notifier_.failed(why, ETIMEDOUT);
  exit_code_ = exit_code::failure;
  begin_stop(SIGTERM);
}

bool Supervisor::pool_healthy(Clock::time_point now) const {
  // Unhealthy: a worker that SIGKILL has not removed (stuck in the kernel). systemd's
  // watchdog then restarts the whole service.
  return std::none_of(table_.begin(), table_.end(), [now](const auto& entry) {
    return entry.second.kill_sent_at && now - *entry.second.kill_sent_at >= abort_grace;
  });
}

void Supervisor::ping_watchdog(Clock::time_point now) {
  if (watchdog_interval_.count() == 0 || now < next_watchdog_ping_) return;
  next_watchdog_ping_ = now + watchdog_interval_;
  if (!pool_healthy(now)) {
    spdlog::error("a worker survives SIGKILL: withholding the watchdog ping so that systemd restarts corral");
    return;
  }
  notifier_.watchdog();
}

std::string Supervisor::status_text() const {
  std::uint64_t requests = retired_requests_;
  for (const auto& [pid, worker] : table_) requests += worker.requests;
  const auto serving = table_.count(WorkerState::ready) + table_.count(WorkerState::retiring);
  auto status = fmt::format("{}/{} workers ready · {} requests · {} restarts", std::min(serving, table_.slot_count()),
                            table_.slot_count(), requests, restarts_);
  if (recycled_ > 0) status += fmt::format(" · {} recycled", recycled_);
  if (!last_event_.empty()) status += fmt::format(" · last: {}", last_event_);
  return status;
}

void Supervisor::publish_status() {
  if (stopping_ || !announced_ready_) return;
  notifier_.status(reloading_ ? fmt::format("reloading · {}", status_text()) : status_text());
}

std::optional<Clock::time_point> Supervisor::next_deadline() const {
  std::optional<Clock::time_point> next;
  if (stopping_ && !killed_all_) earliest(next, stop_deadline_);
  if (!stopping_) {
    if (const auto hold = table_.earliest_hold()) earliest(next, *hold);
    if (!announced_ready_) earliest(next, started_at_ + settings_.start_timeout);
    if (const auto terminal = terminal_.deadline(settings_.terminal_timeout)) earliest(next, *terminal);
  }
  if (watchdog_interval_.count() > 0) earliest(next, next_watchdog_ping_);
  earliest(next, next_reconcile_);
  for (const auto& [pid, worker] : table_) {
    if (!worker.abort_sent_at) {
      earliest(next, worker.last_heard + settings_.hang_timeout);
    } else if (!worker.kill_sent_at) {
      earliest(next, *worker.abort_sent_at + abort_grace);
    }
  }
  return next;
}

}  // namespace corral
