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

// A worker that dies this soon without ever becoming ready is not restarted at once:
// a worker that cannot start would otherwise be forked in a tight loop.
constexpr auto failed_start_hold = std::chrono::seconds(1);
// A hung worker gets SIGABRT (its crash guard sends a suicide notice and it dumps
// core), then SIGKILL if it is still there after this long.
constexpr auto abort_grace = std::chrono::seconds(5);
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

Supervisor::Supervisor(CommandLine command_line, std::vector<UniqueFd> listen_fds, bool socket_activated)
    : command_line_(std::move(command_line)),
      settings_(command_line_.settings),
      listen_fds_(std::move(listen_fds)),
      socket_activated_(socket_activated),
      table_(resolve_worker_count(settings_)),
      started_at_(Clock::now()) {
  for (const auto& fd : listen_fds_) listen_fd_numbers_.push_back(fd.get());

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
  spdlog::info("supervisor started: {} workers on {}{} (corral {})", table_.slot_count(),
               fmt::join(addresses, ", "), socket_activated_ ? " (from systemd)" : "", version);
  if (settings_.enable_debug_routes) {
    spdlog::warn("debug routes are enabled (/debug/throw, /debug/segv, /debug/sleep, /debug/hang): "
                 "any client can crash or stall workers; never use --enable-debug-routes in production");
  }
  if (watchdog_interval_.count() > 0) {
    spdlog::info("systemd watchdog enabled: pinging every {} ms",
                 std::chrono::duration_cast<std::chrono::milliseconds>(watchdog_interval_).count());
  }
  fill_vacant_slots();

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
    fill_vacant_slots();
    check_start(now);
    publish_status();
    ping_watchdog(now);
  }
  spdlog::info("supervisor stopped: every worker has exited");
  return exit_code_;
}

void Supervisor::start_worker(unsigned slot) {
  const auto generation = table_.take_generation(slot);
  auto [ours, theirs] = ipc::Channel::make_pair(fmt::format("worker {}", slot));
  WorkerIdentity identity{slot, generation, ::getpid(), listen_fd_numbers_, theirs.fd()};
  std::vector<int> inherited = listen_fd_numbers_;
  inherited.push_back(theirs.fd());
  const pid_t pid = spawn_process("/proc/self/exe", "corral", worker_arguments(settings_, identity), inherited);
  table_.add(slot, generation, pid, std::move(ours), Clock::now());
  spdlog::info("worker {} started: pid {}, generation {}", slot, pid, generation);
}

void Supervisor::fill_vacant_slots() {
  if (stopping_) return;
  for (const unsigned slot : table_.vacant_slots(Clock::now())) {
    try {
      start_worker(slot);
    } catch (const std::exception& error) {
      spdlog::error("worker {} could not be started, retrying in {} s: {}", slot, failed_start_hold.count(),
                    error.what());
      table_.hold_slot(slot, Clock::now() + failed_start_hold);
    }
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
        spdlog::info("worker {} ready: pid {}, generation {}", worker.slot, worker.pid, worker.generation);
      }
      break;
    case ipc::Kind::heartbeat:
      worker.requests = message.value;
      break;
    case ipc::Kind::suicide_notice: {
      const auto reason = std::string(message.reason_text());
      worker.state = WorkerState::draining;
      worker.drain_reason = "suicide notice";
      if (!stopping_) {
        ++restarts_;
        last_event_ = fmt::format("worker {} suicide ({})", worker.slot, reason);
        spdlog::warn("worker {} (pid {}) sent a suicide notice: {}; starting its replacement now", worker.slot,
                     worker.pid, reason);
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
  ++restarts_;
  last_event_ = fmt::format("worker {} {}", worker.slot, how);
  if (!worker.was_ready) {
    table_.hold_slot(worker.slot, Clock::now() + failed_start_hold);
    spdlog::error("worker {} (pid {}) {} before it became ready; starting another in {} s", worker.slot, worker.pid,
                  how, failed_start_hold.count());
    return;
  }
  spdlog::error("worker {} (pid {}, generation {}) {} without a suicide notice; replacing it", worker.slot,
                worker.pid, worker.generation, how);
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
    next = parse_arguments(command_line_.arguments);
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

  const unsigned slots = resolve_worker_count(settings_);
  if (slots != table_.slot_count()) {
    spdlog::info("pool size changes from {} to {} workers", table_.slot_count(), slots);
    table_.resize(slots);
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

void Supervisor::advance_reload() {
  if (!reloading_ || stopping_) return;
  // The worker being retired keeps serving until its successor is ready.
  bool waiting = false;
  for (auto& [pid, worker] : table_) {
    if (worker.state != WorkerState::retiring) continue;
    if (table_.slot_has_ready_worker(worker.slot)) {
      drain(worker, "reload");
    } else {
      waiting = true;
    }
  }
  if (waiting) return;
  while (!reload_queue_.empty()) {
    auto* worker = table_.find(reload_queue_.front());
    reload_queue_.pop_front();
    if (worker && (worker->state == WorkerState::starting || worker->state == WorkerState::ready)) {
      worker->state = WorkerState::retiring;  // its slot is now vacant: a successor starts
      return;
    }
  }
  reloading_ = false;
  last_event_ = "reloaded";
  spdlog::info("reload complete: every worker runs the new configuration");
  notifier_.ready(status_text());
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
  }
  if (watchdog_interval_.count() > 0) earliest(next, next_watchdog_ping_);
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
