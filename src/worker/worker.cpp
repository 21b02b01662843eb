#include "worker/worker.hpp"

#include "worker/run_worker.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <span>
#include <cstring>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/exit_code.hpp"
#include "common/journal_sink.hpp"
#include "common/logging.hpp"
#include "common/process_title.hpp"
#include "common/system_error.hpp"
#include "ipc/channel.hpp"
#include <cstdlib>
#include "store/open_store.hpp"
#include "worker/command_task.hpp"
#include "worker/crash_guard.hpp"
#include "worker/share_rule.hpp"

namespace corral {
namespace {

constexpr auto heartbeat_interval = std::chrono::seconds(1);
// Running tasks are asked to stop this long before the drain deadline.
constexpr auto task_stop_notice = std::chrono::seconds(1);
// Left without a supervisor, a worker finishes what it has quickly: nobody would replace
// it, and a new supervisor may already be starting workers on the same socket.
constexpr auto orphan_drain_deadline = std::chrono::seconds(1);
// A worker that holds more than its share looks at the others' counts again after
// this long, then twice as long each time up to the maximum, to take connections again
// once they have caught up (or hung).
constexpr auto min_balance_interval = std::chrono::milliseconds(1);
constexpr auto max_balance_interval = std::chrono::milliseconds(64);
// While behind, a worker takes up to this many queued connections per wake-up.
constexpr unsigned accepts_per_wakeup_while_balancing = 16;

std::string milliseconds_text(std::chrono::milliseconds value) {
  return fmt::format("{} ms", value.count());
}

UniqueFd terminate_signal_fd() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  if (::sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) throw_system_error("sigprocmask", "blocking SIGTERM");
  UniqueFd fd(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd.valid()) throw_system_error("signalfd", "receiving SIGTERM in the event loop");
  return fd;
}

}  // namespace

Worker::Worker(const Settings& settings, const WorkerIdentity& identity, const http::Router& router,
               const TaskFunctions& tasks, std::string_view service_name)
    : settings_(settings),
      identity_(identity),
      router_(router),
      handler_loop_(loop_, [this](const std::string& what) { on_handler_exception(what); }),
      deadlines_(loop_, settings_.http),
      // Opened here, in the worker, never inherited: a database connection must not
      // cross a fork.
      store_(detail::open_worker_store(settings_, service_name, loop_, handler_loop_)),
      task_deadline_timer_(loop_),
      task_stop_timer_(loop_),
      environment_{loop_, handler_loop_, deadlines_, settings_.http, read_buffer_, date_, store_.get()},
      terminate_signal_(terminate_signal_fd()),
      channel_handler_([this](std::uint32_t) { read_channel(); }),
      terminate_handler_([this](std::uint32_t) { on_terminate_signal(); }),
      heartbeat_timer_(loop_),
      drain_timer_(loop_),
      balance_timer_(loop_) {
  if (settings_.io == "io_uring") open_completion_ring();
  task_functions_ = with_command_tasks(tasks, settings_.tasks, service_name);
  task_runner_ = std::make_unique<TaskRunner>(
      loop_, task_functions_, TaskRunner::StoreAccess{&store_->backend(), detail::sqlite_path_of(settings_), settings_.store.timeout},
      [this](const ipc::Message& message) { send(message); });
  task_runner_->set_on_idle([this] { stop_if_drained(); });
  if (settings_.access_log) {
    access_log_.emplace(settings_.access_log_rate, stderr_is_journal(), std::string(service_name), identity_.slot,
                        identity_.generation);
  }
  if (identity_.load_board_fd >= 0) {
    load_board_ = ipc::LoadBoard::attach(identity_.load_board_fd);
    load_entry_ = load_board_.claim(::getpid());
    if (load_entry_ == nullptr) {
      spdlog::warn("the load board is full; this worker takes connections without balancing");
    } else {
      loop_.set_activity_marker(&load_entry_->busy_since_ms);
      store_->set_observer([entry = load_entry_](bool ok, std::chrono::microseconds duration) {
        entry->requests.record_store(ok, duration);
      });
    }
  }
  for (const int fd : identity_.listen_fds) {
    listeners_.push_back(std::make_unique<Listener>(
        loop_, fd, [this](UniqueFd socket) { on_connection(std::move(socket)); },
        [this](int error) { on_accept_error(error); }));
    if (load_entry_ != nullptr) listeners_.back()->set_accepts_per_wakeup(accepts_per_wakeup_while_balancing);
  }
}

void Worker::open_completion_ring() {
  try {
    loop_.open_completion_ring();
    spdlog::debug("connections through io_uring, {}", loop_.completion_ring()->shares_buffers()
                                                          ? "receives sharing the pool's buffers"
                                                          : "a pool buffer for each receive");
  } catch (const std::system_error& error) {
    // An older kernel, a container's seccomp filter, kernel.io_uring_disabled: serving
    // matters more than how.
    spdlog::info("serving through epoll: {} (io = \"epoll\" skips the attempt)", error.what());
  }
}

Worker::~Worker() {
  // The store first, while the connections, the loop, the task runner and the load
  // board it may touch as it fails what still waits are all there.
  store_.reset();
  task_runner_.reset();
  // The entry stays ours until the supervisor has read its last counts and frees it;
  // until then it only says that this worker takes nothing.
  if (load_entry_ != nullptr) {
    load_entry_->accepting.store(0, std::memory_order_relaxed);
    load_entry_->connections.store(0, std::memory_order_relaxed);
  }
}

int Worker::run() {
  loop_.add(identity_.channel_fd, EPOLLIN, channel_handler_);
  loop_.add(terminate_signal_.get(), EPOLLIN, terminate_handler_);
  for (auto& listener : listeners_) listener->start();
  if (load_entry_ != nullptr) {
    load_entry_->accepting.store(1, std::memory_order_relaxed);
    publish_store_state();
  }
  ipc::send_message(identity_.channel_fd, ipc::Message::ready(identity_.slot, identity_.generation, requests_));
  heartbeat_timer_.expires_after(heartbeat_interval, [this] { on_heartbeat(); });
  loop_.run();
  task_runner_->collect();
  if (task_runner_->running() > 0) {
    // Only past the drain deadline (or a task's timeout): its thread cannot be stopped,
    // so the process ends without unwinding under it.
    spdlog::warn("exiting after {} requests with {} task runs unfinished", requests_, task_runner_->running());
    spdlog::default_logger()->flush();
    std::_Exit(exit_code::ok);
  }
  spdlog::info("exiting after {} requests", requests_);
  return exit_code::ok;
}

void Worker::on_connection(UniqueFd socket) {
  auto connection = std::make_unique<Connection>(environment_, *this, std::move(socket));
  auto* key = connection.get();
  connections_.emplace(key, std::move(connection));
  balance();
}

void Worker::on_closed(Connection& connection) {
  // Destroyed once this wake-up's events are handled: one of them may be for it.
  loop_.defer([this, key = &connection] {
    connections_.erase(key);
    balance();
    stop_if_drained();
  });
}

void Worker::on_response(const Request& request, int status, std::size_t bytes, EventLoop::Clock::duration duration) {
  if (load_entry_ != nullptr) {
    load_entry_->requests.record(status, std::chrono::duration_cast<std::chrono::microseconds>(duration), bytes);
  }
  if (access_log_) access_log_->record(request, status, bytes, duration, loop_.now());
}

void Worker::on_accept_error(int error) {
  // Out of fds or memory, accepting pauses 100 ms at a time: log at most once a second.
  const auto now = std::chrono::steady_clock::now();
  if (now - last_accept_error_log_ < std::chrono::seconds(1)) return;
  last_accept_error_log_ = now;
  spdlog::warn("accept() failed: {}; the connection waits in the queue for a worker that can take it",
               std::strerror(error));
}

void Worker::publish_store_state() {
  const auto& backend = store_->backend();
  load_entry_->store_health.store(static_cast<std::uint32_t>(backend.health()), std::memory_order_relaxed);
  if (backend.primary() == published_primary_) return;  // failovers change with it
  published_primary_ = backend.primary();
  load_entry_->store_primary.store(published_primary_);
  load_entry_->store_failovers.store(backend.failovers(), std::memory_order_relaxed);
}

void Worker::on_heartbeat() {
  flush_outbox();
  if (::getppid() != identity_.supervisor_pid) {
    begin_drain("the supervisor is gone (parent changed)", orphan_drain_deadline);
  }
  ipc::send_message(identity_.channel_fd, ipc::Message::heartbeat(identity_.slot, identity_.generation, requests_));
  if (load_entry_ != nullptr) {
    publish_store_state();
  }
  if (access_log_) access_log_->report_dropped(loop_.now());
  heartbeat_timer_.expires_after(heartbeat_interval, [this] { on_heartbeat(); });
}

void Worker::send(ipc::Message message) {
  message.slot = identity_.slot;
  message.generation = identity_.generation;
  // A task's start and end must reach the supervisor (a lost end would be a timeout):
  // what the channel cannot take now waits, in order, for the next heartbeat.
  flush_outbox();
  if (!outbox_.empty() || !ipc::send_message(identity_.channel_fd, message)) outbox_.push_back(message);
}

void Worker::flush_outbox() {
  while (!outbox_.empty() && ipc::send_message(identity_.channel_fd, outbox_.front())) outbox_.pop_front();
}

void Worker::read_channel() {
  ipc::Message message;
  for (;;) {
    switch (ipc::receive_message(identity_.channel_fd, message)) {
      case ipc::Received::message:
        if (message.kind == ipc::Kind::drain) {
          begin_drain("the supervisor asked", std::chrono::milliseconds(message.value));
        } else if (message.kind == ipc::Kind::run_task) {
          task_runner_->start(message);
        }
        continue;
      case ipc::Received::malformed:
        spdlog::warn("ignored a datagram from the supervisor that is not a corral message");
        continue;
      case ipc::Received::closed:
        loop_.remove(identity_.channel_fd);
        begin_drain("the supervisor is gone (channel closed)", orphan_drain_deadline);
        return;
      case ipc::Received::nothing:
        return;
    }
  }
}

void Worker::on_terminate_signal() {
  signalfd_siginfo info{};
  while (::read(terminate_signal_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
  if (::getppid() != identity_.supervisor_pid) {
    begin_drain("the supervisor is gone (SIGTERM from the parent-death signal)", orphan_drain_deadline);
  } else {
    begin_drain("SIGTERM received", settings_.drain_timeout);
  }
}

void Worker::on_handler_exception(const std::string& what) {
  if (!suicide_sent_) {
    suicide_sent_ = true;
    const auto reason = fmt::format("uncaught exception: {}", what);
    spdlog::error("{} in a request handler; sending a suicide notice", reason);
    ipc::send_message(identity_.channel_fd,
                      ipc::Message::suicide_notice(identity_.slot, identity_.generation, reason, requests_));
  }
  begin_drain("an uncaught exception left this worker's state suspect", settings_.drain_timeout);
}

void Worker::begin_drain(const std::string& reason, std::chrono::milliseconds deadline) {
  const auto new_deadline = std::chrono::steady_clock::now() + deadline;
  if (draining_ && new_deadline >= drain_deadline_) return;
  if (!draining_) {
    draining_ = true;
    spdlog::info("draining: {}; {} connections open, deadline {}", reason, connections_.size(),
                 milliseconds_text(deadline));
    // No more accept(): connections still queued on the socket go to the other workers
    // (the socket stays open in the supervisor, the other workers and systemd).
    for (auto& listener : listeners_) listener->stop();
    if (load_entry_ != nullptr) load_entry_->accepting.store(0, std::memory_order_relaxed);
    balance_timer_.cancel();
    for (auto& [key, connection] : connections_) connection->drain();
    task_runner_->set_draining();
  }
  drain_deadline_ = new_deadline;
  // Running tasks may finish within the drain deadline (a reload or a stop does not
  // cut them short); a second before it, they are asked to stop (stop_requested()).
  task_stop_timer_.expires_at(drain_deadline_ - std::min<std::chrono::steady_clock::duration>(task_stop_notice, deadline / 2),
                              [this] { task_runner_->request_stop(); });
  drain_timer_.expires_at(drain_deadline_, [this] {
    spdlog::warn("drain deadline passed with {} connections still open; closing them", connections_.size());
    loop_.stop();
  });
  stop_if_drained();
}

void Worker::balance() {
  if (load_entry_ == nullptr) return;
  const auto own = static_cast<std::uint32_t>(connections_.size());
  load_entry_->connections.store(own, std::memory_order_relaxed);
  if (draining_) return;
  std::array<PeerLoad, 64> peers;
  std::size_t count = 0;
  std::uint64_t peers_total = 0;
  for (const auto& entry : load_board_.entries()) {
    if (&entry == load_entry_ || entry.pid.load(std::memory_order_relaxed) == 0 ||
        entry.accepting.load(std::memory_order_relaxed) == 0) {
      continue;
    }
    peers[count++] = {entry.connections.load(std::memory_order_relaxed),
                      entry.busy_since_ms.load(std::memory_order_relaxed)};
    peers_total += peers[count - 1].connections;
    if (count == peers.size()) break;  // enough to find a less loaded one
  }
  const bool pause = holds_more_than_its_share(own, std::span(peers.data(), count),
                                                    milliseconds_since_epoch(loop_.now()));
  if (pause != accept_paused_) {
    accept_paused_ = pause;
    for (auto& listener : listeners_) listener->set_paused(pause);
  }
  // While paused, look again soon while the counts move (a burst is being taken), and
  // less and less often while they stay put: a worker that stays ahead on an idle
  // server should not spin.
  const std::pair<std::uint32_t, std::uint64_t> view{own, peers_total};
  if (view != balance_view_) {
    balance_view_ = view;
    balance_interval_ = min_balance_interval;
  }
  if (accept_paused_ && !balance_timer_.armed()) {
    balance_timer_.expires_after(balance_interval_, [this] {
      balance_interval_ = std::min(balance_interval_ * 2, max_balance_interval);
      balance();
    });
  }
}

void Worker::stop_if_drained() {
  if (!draining_ || !connections_.empty()) return;
  // A running task may finish within the drain deadline; one past its timeout is not
  // waited for (the supervisor has recorded it and replaced this worker).
  const auto now = std::chrono::steady_clock::now();
  if (const auto deadline = task_runner_->next_live_deadline(now)) {
    task_deadline_timer_.expires_at(*deadline, [this] { stop_if_drained(); });
    return;
  }
  loop_.stop();
}

void Worker::serve(Request& request, Response& response) {
  ++requests_;
  crash_guard_count_request();
  if (requests_ == 1) {
    // Tell the supervisor at once, not at the next heartbeat: a worker that has served
    // is replaced at once if it dies, one that has not is backed off.
    ipc::send_message(identity_.channel_fd, ipc::Message::heartbeat(identity_.slot, identity_.generation, requests_));
  }
  router_.dispatch(request, response);
}

int run_worker(const Settings& settings, const WorkerIdentity& identity, const http::Router& router,
               const TaskFunctions& tasks, std::string_view name) {
  init_logging({"worker", std::string(name), static_cast<int>(identity.slot), identity.generation}, settings.log_level);
  std::unique_ptr<Worker> worker;
  try {
    // Die with the supervisor: the parent-death signal, then a check that it did not
    // die before we asked (the heartbeat re-checks, and channel EOF tells too).
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) throw_system_error("prctl(PR_SET_PDEATHSIG)", "starting a worker");
    if (::getppid() != identity.supervisor_pid) {
      spdlog::warn("supervisor {} is already gone; exiting", identity.supervisor_pid);
      return exit_code::ok;
    }
    if (settings.debug_fail_start) throw std::runtime_error("failing on purpose (--debug-fail-start)");
    // The supervisor coordinates stopping; a Ctrl-C that reaches the whole process
    // group must not kill workers in the middle of a request.
    for (const int signal : {SIGINT, SIGQUIT, SIGHUP, SIGPIPE}) ::signal(signal, SIG_IGN);
    install_crash_guard(identity.channel_fd, identity.slot, identity.generation);
    process_title::set(fmt::format("{}: worker {}", name, identity.slot));
    worker = std::make_unique<Worker>(settings, identity, router, tasks, name);
  } catch (const std::exception& error) {
    // A distinct exit code: the supervisor backs off instead of restarting at once.
    spdlog::critical("worker could not start: {}", error.what());
    return exit_code::worker_start_failed;
  }
  try {
    return worker->run();
  } catch (const std::exception& error) {
    spdlog::critical("worker failed: {}", error.what());
    if (worker->running_tasks() > 0) {
      // A task thread still runs: end the process without unwinding under it.
      spdlog::default_logger()->flush();
      std::_Exit(exit_code::failure);
    }
    return exit_code::failure;
  }
}

}  // namespace corral
