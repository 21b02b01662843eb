#include "tasks/task_run_state.hpp"

namespace corral {

TaskRun::TaskRun(std::shared_ptr<const State> state) : state_(std::move(state)) {}

const std::string& TaskRun::task() const noexcept {
  return state_->task;
}

std::chrono::system_clock::time_point TaskRun::scheduled() const noexcept {
  return state_->scheduled;
}

unsigned TaskRun::attempt() const noexcept {
  return state_->attempt;
}

bool TaskRun::stop_requested() const noexcept {
  return state_->stop.load(std::memory_order_relaxed) || std::chrono::steady_clock::now() >= state_->deadline;
}

}  // namespace corral
