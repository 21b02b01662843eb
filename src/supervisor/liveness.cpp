#include "supervisor/liveness.hpp"

namespace corral {

HangAction hang_action(const WorkerRecord& worker, Clock::time_point now, Clock::duration hang_timeout) {
  if (!worker.hang_checked) return HangAction::none;
  if (!worker.abort_sent_at) return now - worker.last_heard >= hang_timeout ? HangAction::abort : HangAction::none;
  if (!worker.kill_sent_at && now - *worker.abort_sent_at >= abort_grace) return HangAction::kill;
  return HangAction::none;
}

std::optional<Clock::time_point> hang_deadline(const WorkerRecord& worker, Clock::duration hang_timeout) {
  if (!worker.hang_checked) return std::nullopt;
  if (!worker.abort_sent_at) return worker.last_heard + hang_timeout;
  if (!worker.kill_sent_at) return *worker.abort_sent_at + abort_grace;
  return std::nullopt;
}

WatchdogPinger::Action WatchdogPinger::on_turn(Clock::time_point now, bool pool_healthy) {
  if (!enabled() || now < next_ping_) return Action::none;
  next_ping_ = now + interval_;
  return pool_healthy ? Action::ping : Action::withhold;
}

std::optional<Clock::time_point> WatchdogPinger::next_deadline() const {
  if (!enabled()) return std::nullopt;
  return next_ping_;
}

}  // namespace corral
