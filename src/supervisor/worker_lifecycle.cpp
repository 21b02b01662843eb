// The supervisor's dealings with its workers: starting them, reading their messages,
// reaping and replacing them, recycling and aborting hung ones. supervisor.cpp has the
// loop, the modes and what systemd sees.
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/exit_code.hpp"
#include "supervisor/process_usage.hpp"
#include "supervisor/spawn.hpp"
#include "supervisor/supervisor.hpp"
#include "supervisor/wait_status.hpp"

namespace corral {
namespace {

// posix_spawn itself failed (out of memory or pids): try that slot again after this.
constexpr auto spawn_retry_delay = std::chrono::seconds(1);
// Desired and actual pool size are compared this often, whatever else happens.
constexpr auto reconcile_interval = std::chrono::seconds(5);

}  // namespace

void Supervisor::start_worker(unsigned slot) {
  const bool agent = is_agent_slot(slot);
  if (settings_.app.enabled() && !agent) return start_app_worker(slot);
  const auto generation = table_.take_generation(slot);
  auto [ours, theirs] = ipc::Channel::make_pair(fmt::format("worker {}", slot));
  // The agent takes no connection: it is given no listening socket.
  const auto listen_fds = agent ? std::vector<int>{} : listen_fd_numbers_;
  WorkerIdentity identity{slot, generation, ::getpid(), listen_fds, theirs.fd(), load_board_.fd()};
  std::vector<int> inherited = listen_fds;
  inherited.push_back(theirs.fd());
  if (load_board_.valid()) inherited.push_back(load_board_.fd());
  SpawnRequest request;
  request.executable = "/proc/self/exe";
  request.argv0 = program_.name;
  request.arguments = worker_arguments(*program_.table, settings_, identity);
  request.inherited_fds = std::move(inherited);
  const pid_t pid = spawn_process(request);
  auto& worker = table_.add(slot, generation, pid, std::move(ours), now_);
  worker.request_limit = request_limit(settings_.max_requests, std::uniform_real_distribution<double>(0, 1)(random_));
  if (agent) worker.app_status = "agent: runs the scheduled tasks";
  spdlog::info("worker {} started: pid {}, generation {}{}", slot, pid, generation,
               agent ? " (the agent: it runs the tasks)" : "");
}

void Supervisor::fill_vacant_slots() {
  if (mode_ == Mode::stopping) return;
  for (const unsigned slot : table_.vacant_slots(now_)) {
    auto& record = table_.slot(slot);
    if (record.replacing_after_failure) {
      if (!budget_.allows(now_)) {
        // Past the budget nothing is forked until the window lets one more through.
        table_.hold_slot(slot, budget_.next_allowed(now_));
        if (!budget_spent_announced_) {
          budget_spent_announced_ = true;
          const auto window = seconds_text(std::chrono::duration_cast<std::chrono::milliseconds>(budget_.window()));
          counters_.last_event = fmt::format("restart budget spent ({} restarts in {})", budget_.limit(), window);
          spdlog::error("restart budget spent: {} restarts in the last {}; worker {} stays down until the window "
                        "allows another ({} from now)",
                        budget_.limit(), window, slot,
                        seconds_text(std::chrono::ceil<std::chrono::milliseconds>(budget_.next_allowed(now_) - now_)));
        }
        continue;
      }
      budget_.record(now_);
      budget_spent_announced_ = false;
    }
    try {
      start_worker(slot);
      record.replacing_after_failure = false;
    } catch (const std::exception& error) {
      spdlog::error("worker {} could not be started, retrying in {} s: {}", slot, spawn_retry_delay.count(),
                    error.what());
      table_.hold_slot(slot, now_ + spawn_retry_delay);
    }
  }
}

void Supervisor::note_failure(const WorkerRecord& worker, const std::string& how, bool start_failed) {
  ++counters_.restarts;
  counters_.last_event = fmt::format("worker {} {}", worker.slot, how);
  // corral does not see an app's requests: a suicide notice is the app's own proof
  // that it was working.
  const bool noticed = worker.drain_reason == "suicide notice";
  const bool failed_start =
      start_failed || failed_to_start(worker.was_ready, worker.is_app() && noticed ? 1 : worker.requests,
                                      now_ - worker.started_at, settings_.min_uptime);
  using metrics::RestartCause;
  note_restart(noticed ? RestartCause::suicide_notice
               : worker.abort_sent_at                  ? RestartCause::hang
               : failed_start                          ? RestartCause::failed_start
               : how.starts_with("exited")             ? RestartCause::exit
                                                       : RestartCause::signal,
               worker.slot);
  if (worker.slot >= table_.slot_count()) return;  // its slot went away in a reload
  auto& slot = table_.slot(worker.slot);
  slot.replacing_after_failure = true;
  if (failed_start) {
    const auto delay = slot.backoff.on_failed_start();
    table_.hold_slot(worker.slot, now_ + delay);
    spdlog::error("worker {} (pid {}) failed to start: it {}; next start in {} ms (backoff)", worker.slot,
                  worker.pid, how, std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
  }
}

void Supervisor::reap_children() {
  for (;;) {
    int status = 0;
    rusage usage{};
    const pid_t pid = ::wait4(-1, &status, WNOHANG, &usage);
    if (pid <= 0) return;
    // Its last counts are taken before its entry is freed (a worker never frees its
    // own), so the pool's counters never go backwards.
    ipc::RequestTotals counted;
    if (const auto* entry = load_board_.find(pid)) counted = ipc::read(entry->requests);
    load_board_.release(pid);
    auto* worker = table_.find(pid);
    if (worker == nullptr) continue;
    // A worker's last messages (a suicide notice just before a fatal signal, a last
    // heartbeat) are still in the channel: read them before judging how it ended.
    read_messages(*worker);
    fold_exited_worker(*worker, counted,
                       static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6);
    on_worker_exit(std::move(*table_.remove(pid)), status);
  }
}

void Supervisor::read_messages(WorkerRecord& worker) {
  if (worker.is_app()) return read_notifications(worker);
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
  worker.last_heard = now_;
  switch (message.kind) {
    case ipc::Kind::ready:
      worker.requests = message.value;
      worker.was_ready = true;
      if (worker.state == WorkerState::starting) {
        worker.state = WorkerState::ready;
        worker.ready_at = now_;
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
      if (mode_ != Mode::stopping && was_serving) {
        spdlog::warn("worker {} (pid {}) sent a suicide notice: {}; starting its replacement now", worker.slot,
                     worker.pid, reason);
        note_failure(worker, fmt::format("suicide ({})", reason), false);
      }
      break;
    }
    case ipc::Kind::task_started:
    case ipc::Kind::task_ended:
      on_task_message(worker, message);
      break;
    case ipc::Kind::drain:
    case ipc::Kind::run_task:
      break;  // only the supervisor sends these
  }
}

void Supervisor::on_worker_exit(WorkerRecord worker, int wait_status) {
  const auto how = describe_wait_status(wait_status);
  on_task_worker_exit(worker, how);
  if (worker.slot < table_.slot_count()) {
    table_.slot(worker.slot).last_exit =
        worker.state == WorkerState::draining ? fmt::format("{} ({})", how, worker.drain_reason) : how;
  }
  if (worker.state == WorkerState::draining) {
    const auto log_level = exited_cleanly(wait_status) ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(log_level, "worker {} (pid {}, generation {}) {} after {}", worker.slot, worker.pid,
                worker.generation, how, worker.drain_reason);
    return;
  }
  if (mode_ == Mode::stopping) {
    spdlog::warn("worker {} (pid {}) {} while stopping", worker.slot, worker.pid, how);
    return;
  }
  spdlog::error("worker {} (pid {}, generation {}) {} without a suicide notice; replacing it", worker.slot,
                worker.pid, worker.generation, how);
  // A worker whose own start-up failed says so with its exit code: back off.
  const bool start_failed = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == exit_code::worker_start_failed;
  note_failure(worker, how, start_failed);
}

void Supervisor::drain(WorkerRecord& worker, std::string reason) {
  if (worker.drain_sent) return;
  worker.drain_sent = true;
  if (worker.state != WorkerState::draining) {
    worker.state = WorkerState::draining;
    worker.drain_reason = std::move(reason);
  }
  if (worker.is_app()) return stop_app_worker(worker);
  const auto message = ipc::Message::drain(static_cast<std::uint64_t>(settings_.drain_timeout.count()));
  if (!worker.channel.open() || !worker.channel.send(message)) {
    // The channel is gone or full: SIGTERM asks a worker for the same graceful drain.
    ::kill(worker.pid, SIGTERM);
  }
}

void Supervisor::maybe_recycle(WorkerRecord& worker) {
  const RecyclePolicy policy{settings_.max_requests, settings_.max_rss_mib << 20};
  if (!policy.enabled() || mode_ != Mode::serving || worker.state != WorkerState::ready) return;
  // One at a time, so the pool never loses more than one worker's worth of capacity.
  if (table_.count(WorkerState::retiring) > 0) return;
  const auto usage = policy.max_rss_bytes > 0 ? read_process_usage(worker.pid) : std::nullopt;
  const auto rss = usage ? usage->rss_bytes : 0;
  const auto reason = recycle_reason(policy, worker.requests, worker.request_limit, rss);
  if (!reason) return;
  worker.state = WorkerState::retiring;
  worker.retire_reason = "recycle";
  ++counters_.recycled;
  note_restart(metrics::RestartCause::recycle, worker.slot);
  counters_.last_event = fmt::format("worker {} recycled", worker.slot);
  spdlog::info("recycling worker {} (pid {}): {}; its successor starts now", worker.slot, worker.pid, *reason);
}

void Supervisor::reset_stable_backoffs() {
  for (const auto& [pid, worker] : table_) {
    if (worker.ready_at && now_ - *worker.ready_at >= StartBackoff::stable_after && worker.slot < table_.slot_count()) {
      table_.slot(worker.slot).backoff.reset();
    }
  }
}

void Supervisor::reconcile() {
  if (now_ < next_reconcile_) return;
  next_reconcile_ = now_ + reconcile_interval;
  // Children are reaped on SIGCHLD; reaping here too means a lost signal cannot leave a
  // dead worker in the table, holding its slot.
  reap_children();
  if (mode_ == Mode::stopping) return;
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
                                        seconds_text(std::chrono::ceil<std::chrono::milliseconds>(*next_start - now_)))
                          : std::string{});
}

void Supervisor::check_hung_workers() {
  for (auto& [pid, worker] : table_) {
    switch (hang_action(worker, now_, settings_.hang_timeout)) {
      case HangAction::abort:
        worker.abort_sent_at = now_;
        counters_.last_event = fmt::format("worker {} hung", worker.slot);
        spdlog::error("worker {} (pid {}) has sent nothing for {}: sending SIGABRT", worker.slot, pid,
                      seconds_text(settings_.hang_timeout));
        ::kill(pid, SIGABRT);
        break;
      case HangAction::kill:
        worker.kill_sent_at = now_;
        spdlog::error("worker {} (pid {}) is still there {} s after SIGABRT: sending SIGKILL", worker.slot, pid,
                      abort_grace.count());
        ::kill(pid, SIGKILL);
        break;
      case HangAction::none:
        break;
    }
  }
}

}  // namespace corral
