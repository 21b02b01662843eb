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

// A run's lock outlives the run by this much past its due time, so that an instance
// whose clock lags by less cannot take the same run again once it is released.
constexpr auto lock_fence = std::chrono::seconds(30);

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

void TaskRunner::start(const ipc::Message& order, bool draining) {
  const auto name = std::string(order.reason_text());
  if (draining) return refuse(order, ipc::TaskEnd::refused, "the worker is draining");
  if (!functions_.contains(name)) {
    return refuse(order, ipc::TaskEnd::refused, fmt::format("this worker has no task named \"{}\"", name));
  }
  if (order.task.lock_ms == 0 || store_.backend == nullptr) return launch(order);
  // Another corral instance on the same Redis may take this run first.
  store_.backend->claim_run(run_key(name, order.value), order.task.token,
                            std::chrono::milliseconds(order.task.lock_ms),
                            [this, order](detail::Outcome<bool> claimed) {
                              if (!claimed.ok()) {
                                return refuse(order, ipc::TaskEnd::refused,
                                              "its lock could not be taken: " + claimed.failure().message);
                              }
                              if (!claimed.value()) {
                                return refuse(order, ipc::TaskEnd::elsewhere, "another corral instance took it");
                              }
                              launch(order);
                              if (auto found = runs_.find(order.task.run); found != runs_.end()) {
                                found->second->lock_token = order.task.token;
                              }
                            });
}

void TaskRunner::refuse(const ipc::Message& order, ipc::TaskEnd end, const std::string& why) {
  send_(ipc::Message::task_ended(0, 0, order.task.run, end, 0, why));
}

void TaskRunner::launch(const ipc::Message& order) {
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
  const auto id = order.task.run;
  const TaskFunction& function = functions_.find(state.task)->second;
  send_(ipc::Message::task_started(0, 0, id, microseconds_since_epoch()));
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
    const std::uint64_t one = 1;
    (void)::write(mailbox->wakeup.get(), &one, sizeof one);
  });
  runs_.emplace(id, std::move(run));
}

void TaskRunner::collect() {
  std::uint64_t count = 0;
  (void)::read(mailbox_->wakeup.get(), &count, sizeof count);
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
      const auto fence_end = run->state->scheduled + lock_fence;
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

bool TaskRunner::has_live_runs(std::chrono::steady_clock::time_point now) const {
  for (const auto& [id, run] : runs_) {
    if (now < run->state->deadline) return true;
  }
  return false;
}

std::optional<std::chrono::steady_clock::time_point> TaskRunner::next_live_deadline(
    std::chrono::steady_clock::time_point now) const {
  std::optional<std::chrono::steady_clock::time_point> next;
  for (const auto& [id, run] : runs_) {
    const auto deadline = run->state->deadline;
    if (now < deadline && (!next || deadline < *next)) next = deadline;
  }
  return next;
}

}  // namespace corral
