#include "supervisor/supervisor.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/exit_code.hpp"
#include "common/system_error.hpp"
#include "config/command_line.hpp"
#include "net/endpoint.hpp"
#include "supervisor/spawn.hpp"

namespace corral {
namespace {

// A worker that dies this soon without ever becoming ready is not restarted at once:
// a worker that cannot start would otherwise be forked in a tight loop.
constexpr auto failed_start_hold = std::chrono::seconds(1);

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

}  // namespace

Supervisor::Supervisor(Settings settings, std::vector<UniqueFd> listen_fds)
    : settings_(std::move(settings)),
      listen_fds_(std::move(listen_fds)),
      table_(settings_.workers) {
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
}

Supervisor::~Supervisor() {
  ::sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
}

int Supervisor::run() {
  std::vector<std::string> addresses;
  for (const int fd : listen_fd_numbers_) addresses.push_back(net::describe_local_address(fd));
  spdlog::info("supervisor started: {} workers on {}", table_.slot_count(), fmt::join(addresses, ", "));
  if (settings_.enable_debug_routes) {
    spdlog::warn("debug routes are enabled (/debug/throw, /debug/segv, /debug/sleep, /debug/hang): "
                 "any client can crash or stall workers; never use --enable-debug-routes in production");
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
    check_deadlines();
    fill_vacant_slots();
    publish_status();
  }
  spdlog::info("supervisor stopped: every worker has exited");
  return exit_code::ok;
}

void Supervisor::start_worker(unsigned slot) {
  const auto generation = table_.take_generation(slot);
  auto [ours, theirs] = ipc::Channel::make_pair(fmt::format("worker {}", slot));
  WorkerIdentity identity{slot, generation, ::getpid(), listen_fd_numbers_, theirs.fd()};
  std::vector<int> inherited = listen_fd_numbers_;
  inherited.push_back(theirs.fd());
  const pid_t pid = spawn_process("/proc/self/exe", "corral", worker_arguments(settings_, identity),
                                  inherited);
  table_.add(slot, generation, pid, std::move(ours), Clock::now());
  spdlog::info("worker {} started: pid {}, generation {}", slot, pid, generation);
}

void Supervisor::fill_vacant_slots() {
  if (stopping_) return;
  for (const unsigned slot : table_.vacant_slots(Clock::now())) {
    try {
      start_worker(slot);
    } catch (const std::exception& error) {
      spdlog::error("worker {} could not be started, retrying in {} s: {}", slot,
                    failed_start_hold.count(), error.what());
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
        spdlog::info("SIGHUP received: this version has no configuration to reload; nothing changed");
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
        spdlog::warn("worker {} (pid {}) sent a datagram that is not a corral message; ignored",
                     worker.slot, worker.pid);
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
        spdlog::warn("worker {} (pid {}) sent a suicide notice: {}; starting its replacement now",
                     worker.slot, worker.pid, reason);
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
    spdlog::error("worker {} (pid {}) {} before it became ready; starting another in {} s",
                  worker.slot, worker.pid, how, failed_start_hold.count());
    return;
  }
  spdlog::error("worker {} (pid {}, generation {}) {} without a suicide notice; replacing it",
                worker.slot, worker.pid, worker.generation, how);
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
  stop_deadline_ = Clock::now() + settings_.drain_timeout;
  spdlog::info("{} received: draining {} workers (deadline {})", signal_name(signal), table_.size(),
               seconds(settings_.drain_timeout));
  notifier_.stopping(fmt::format("stopping: draining {} workers", table_.size()));
  for (auto& [pid, worker] : table_) drain(worker, "stop");
}

void Supervisor::kill_all(std::string_view why) {
  if (killed_all_) return;
  killed_all_ = true;
  spdlog::warn("{}: killing {} remaining workers", why, table_.size());
  for (const auto& [pid, worker] : table_) ::kill(pid, SIGKILL);
}

void Supervisor::check_deadlines() {
  if (stopping_ && !table_.empty() && Clock::now() >= stop_deadline_) {
    kill_all(fmt::format("drain deadline of {} passed", seconds(settings_.drain_timeout)));
  }
}

std::optional<Clock::time_point> Supervisor::next_deadline() const {
  if (stopping_) return killed_all_ ? std::nullopt : std::optional(stop_deadline_);
  return table_.earliest_hold();
}

void Supervisor::publish_status() {
  if (stopping_) return;
  std::uint64_t requests = retired_requests_;
  for (const auto& [pid, worker] : table_) requests += worker.requests;
  auto status = fmt::format("{}/{} workers ready · {} requests · {} restarts", table_.count(WorkerState::ready),
                            table_.slot_count(), requests, restarts_);
  if (!last_event_.empty()) status += fmt::format(" · last: {}", last_event_);
  if (!announced_ready_ && table_.all_slots_ready()) {
    announced_ready_ = true;
    spdlog::info("all {} workers ready", table_.slot_count());
    notifier_.ready(status);
    return;
  }
  notifier_.status(status);
}

}  // namespace corral
