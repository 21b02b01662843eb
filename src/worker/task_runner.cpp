#include "worker/task_runner.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/system_error.hpp"
#include "tasks/task_run_state.hpp"

namespace corral {
namespace {

std::string run_key(std::string_view task, std::uint64_t scheduled_ms) {
  return fmt::format("{}:{}", task, scheduled_ms);
}

std::uint64_t microseconds_since_epoch() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

struct TaskRunner::Run {
  std::shared_ptr<detail::TaskRunAccess::State> state;
  std::uint64_t scheduled_ms = 0;
  std::uint64_t lock_token = 0;  // 0: no lock taken
  std::uint64_t fence_until_ms = 0;
  std::thread thread;
};

TaskRunner::TaskRunner(EventLoop& loop, const TaskFunctions& functions, StoreAccess store, Send send)
    : loop_(loop),
      functions_(functions),
      store_(std::move(store)),
      send_(std::move(send)),
      mailbox_(std::make_shared<Mailbox>()),
      wakeup_handler_([this](std::uint32_t) { collect(); }) {
  mailbox_->wakeup = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!mailbox_->wakeup.valid()) throw_system_error("eventfd", "hearing from task threads");
  loop_.add(mailbox_->wakeup.get(), EPOLLIN, wakeup_handler_);
}

TaskRunner::~TaskRunner() {
  loop_.remove(mailbox_->wakeup.get());
  for (auto& [id, run] : runs_) {
    // Past the drain deadline: the process exits without waiting for it.
    run->state->stop.store(true);
    if (run->thread.joinable()) run->thread.detach();
  }
}

void TaskRunner::start(const ipc::Message& order) {
  const auto name = std::string(order.reason_text());
  if (draining_) return refuse(order, ipc::TaskEnd::refused, "the worker is draining");
  if (!functions_.contains(name)) {
    return refuse(order, ipc::TaskEnd::refused, fmt::format("this worker has no task named \"{}\"", name));
  }
  if (order.task.lock_ms == 0 || store_.backend == nullptr) return launch(order, 0);
  // Another corral instance on the same Redis may take this run first. Until the
  // answer the run counts as live: a drain waits for it.
  ++claims_pending_;
  store_.backend->claim_run(run_key(name, order.value), order.task.token,
                            std::chrono::milliseconds(order.task.lock_ms),
                            [this, order](detail::Outcome<bool> claimed) {
                              --claims_pending_;
                              if (!claimed.ok()) {
                                refuse(order, ipc::TaskEnd::refused,
                                       "its lock could not be taken: " + claimed.failure().message);
                              } else if (!claimed.value()) {
                                refuse(order, ipc::TaskEnd::elsewhere, "another corral instance took it");
                              } else if (draining_) {
                                // Another worker of this instance takes it (the lock is ours).
                                refuse(order, ipc::TaskEnd::refused, "the worker began draining");
                              } else {
                                launch(order, order.task.token);
                              }
                              if (on_idle_) on_idle_();
                            });
}

void TaskRunner::refuse(const ipc::Message& order, ipc::TaskEnd end, const std::string& why) {
  send_(ipc::Message::task_ended(0, 0, order.task.run, end, 0, why));
}

void TaskRunner::launch(const ipc::Message& order, std::uint64_t lock_token) {
  auto run = std::make_unique<Run>();
  run->state = std::make_shared<detail::TaskRunAccess::State>();
  auto& state = *run->state;
  state.task = std::string(order.reason_text());
  state.scheduled = std::chrono::system_clock::time_point(std::chrono::milliseconds(order.value));
  state.attempt = order.task.attempt;
  state.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(order.task.timeout_ms);
  state.sqlite_path = store_.sqlite_path;
  state.store_timeout = store_.timeout;
  run->scheduled_ms = order.value;
  run->fence_until_ms = order.task.fence_until_ms;
  run->lock_token = lock_token;
  const auto id = order.task.run;
  const TaskFunction& function = functions_.find(state.task)->second;
  const auto started_us = microseconds_since_epoch();
  try {
    run->thread = std::thread([id, function, state = std::shared_ptr<const detail::TaskRunAccess::State>(run->state),
                             mailbox = mailbox_] {
    const auto began = std::chrono::steady_clock::now();
    Finished finished{id, ipc::TaskEnd::ok, {}, {}};
    try {
      const auto task_run = detail::TaskRunAccess::make(state);
      function(task_run);
    } catch (const std::exception& error) {
      finished.end = ipc::TaskEnd::failed;
      finished.error = error.what();
    } catch (...) {
      finished.end = ipc::TaskEnd::failed;
      finished.error = "an exception that is not a std::exception";
    }
    finished.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began);
    {
      std::lock_guard lock(mailbox->mutex);
      mailbox->finished.push_back(std::move(finished));
    }
    // An eventfd's write fails only when its counter would overflow, and then the
    // worker is already awake to collect.
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(mailbox->wakeup.get(), &one, sizeof one);
  });
  } catch (const std::system_error& error) {
    // Out of threads or memory: this worker cannot run it; the supervisor hands it on.
    return refuse(order, ipc::TaskEnd::refused, fmt::format("std::thread failed ({}) starting the run", error.what()));
  }
  send_(ipc::Message::task_started(0, 0, id, started_us));
  runs_.emplace(id, std::move(run));
}

void TaskRunner::collect() {
  // Only resets the eventfd (EAGAIN when a collect already did): what counts is the
  // mailbox.
  std::uint64_t count = 0;
  [[maybe_unused]] const auto drained = ::read(mailbox_->wakeup.get(), &count, sizeof count);
  std::vector<Finished> finished;
  {
    std::lock_guard lock(mailbox_->mutex);
    finished.swap(mailbox_->finished);
  }
  for (auto& done : finished) {
    auto found = runs_.find(done.id);
    if (found == runs_.end()) continue;
    auto run = std::move(found->second);
    runs_.erase(found);
    run->thread.join();  // it has finished: this does not wait
    send_(ipc::Message::task_ended(0, 0, done.id, done.end, static_cast<std::uint64_t>(done.duration.count()),
                                   done.error));
    if (run->lock_token != 0 && store_.backend != nullptr) {
      // Kept until no other instance could still start this run (the supervisor's fence).
      const auto fence_end = std::chrono::system_clock::time_point(std::chrono::milliseconds(run->fence_until_ms));
      const auto keep = std::chrono::duration_cast<std::chrono::milliseconds>(fence_end - std::chrono::system_clock::now());
      store_.backend->release_run(run_key(run->state->task, run->scheduled_ms), run->lock_token,
                                  std::max(keep, std::chrono::milliseconds(0)), [task = run->state->task](auto outcome) {
                                    if (!outcome.ok()) {
                                      spdlog::warn("task {}: releasing its run's lock failed ({}); it expires by itself",
                                                   task, outcome.failure().message);
                                    }
                                  });
    }
  }
  if (on_idle_) on_idle_();
}

void TaskRunner::request_stop() {
  for (auto& [id, run] : runs_) run->state->stop.store(true);
}

std::optional<std::chrono::steady_clock::time_point> TaskRunner::next_live_deadline(
    std::chrono::steady_clock::time_point now) const {
  std::optional<std::chrono::steady_clock::time_point> next;
  // A run whose lock is being taken may start any moment: look again soon.
  if (claims_pending_ > 0) next = now + std::chrono::milliseconds(10);
  for (const auto& [id, run] : runs_) {
    const auto deadline = run->state->deadline;
    if (now < deadline && (!next || deadline < *next)) next = deadline;
  }
  return next;
}

}  // namespace corral
