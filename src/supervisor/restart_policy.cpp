#include "supervisor/restart_policy.hpp"

#include <algorithm>

namespace corral {

void RestartBudget::reconfigure(unsigned limit, Clock::duration window) {
  limit_ = limit;
  window_ = window;
}

void RestartBudget::forget_before(Clock::time_point now) {
  while (!restarts_.empty() && restarts_.front() <= now - window_) restarts_.pop_front();
}

bool RestartBudget::allows(Clock::time_point now) {
  forget_before(now);
  return restarts_.size() < limit_;
}

void RestartBudget::record(Clock::time_point now) {
  restarts_.push_back(now);
}

Clock::time_point RestartBudget::next_allowed(Clock::time_point now) {
  if (allows(now)) return now;
  // The oldest restarts must leave the window until one fewer than the limit is left.
  return restarts_[restarts_.size() - limit_] + window_;
}

unsigned RestartBudget::used(Clock::time_point now) {
  forget_before(now);
  return static_cast<unsigned>(restarts_.size());
}

Clock::duration StartBackoff::on_failed_start() {
  const auto delay = next_ == Clock::duration::zero() ? initial : next_;
  next_ = std::min<Clock::duration>(
      cap, std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, Clock::period>(
               static_cast<double>(delay.count()) * factor)));
  return delay;
}

bool failed_to_start(bool was_ready, std::uint64_t requests, Clock::duration lived, Clock::duration min_uptime) {
  return !was_ready || (lived < min_uptime && requests == 0);
}

void TerminalWatch::observe(bool any_worker_ready, bool budget_spent, Clock::time_point now) {
  if (any_worker_ready) {
    without_workers_since_.reset();
    budget_spent_ = false;
    return;
  }
  if (!without_workers_since_) without_workers_since_ = now;
  budget_spent_ = budget_spent_ || budget_spent;
}

bool TerminalWatch::reached(Clock::time_point now, Clock::duration timeout) const {
  return budget_spent_ && without_workers_since_ && now - *without_workers_since_ >= timeout;
}

std::optional<Clock::time_point> TerminalWatch::deadline(Clock::duration timeout) const {
  if (!budget_spent_ || !without_workers_since_) return std::nullopt;
  return *without_workers_since_ + timeout;
}

}  // namespace corral
