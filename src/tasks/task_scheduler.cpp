#include "tasks/task_scheduler.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace corral::tasks {
namespace {

// Walking the runs missed while corral was down (or while the clock jumped) stops here
// (a 1 s task down for 28 hours); past it, the latest is found from the other end.
constexpr int max_missed_counted = 100'000;

// The last run due after `after` and no later than `until`, or nothing: searched back
// from `until` in windows that double, so it costs a few steps however long the span.
std::optional<WallTime> latest_due(const NextRun& next, WallTime after, WallTime until) {
  if (next.after(after) > until) return std::nullopt;
  for (std::chrono::milliseconds window{1000};; window *= 2) {
    const auto from = std::max(after, until - window);
    auto due = next.after(from);
    if (due <= until) {
      for (auto following = next.after(due); following <= until; following = next.after(due)) due = following;
      return due;
    }
    if (from == after) return std::nullopt;
  }
}

}  // namespace

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok: return "ok";
    case Outcome::failed: return "failed";
    case Outcome::crashed: return "crashed";
    case Outcome::timeout: return "timeout";
    case Outcome::overlap: return "overlap";
    case Outcome::missed: return "missed";
    case Outcome::elsewhere: return "elsewhere";
  }
  return "unknown";
}

std::vector<std::string> TaskScheduler::configure(const std::vector<TaskSpec>& specs, WallTime now,
                                                  const std::map<std::string, WallTime, std::less<>>& last_due) {
  std::vector<std::string> notes;
  std::vector<State> next;
  for (const auto& spec : specs) {
    if (auto* kept = find_state(spec.name)) {
      // A new schedule, or a task enabled again, is due next from now on: what fell
      // due while it was off was not missed.
      const bool rescheduled = kept->spec.schedule.describe() != spec.schedule.describe() ||
                               (spec.options.enabled && !kept->spec.options.enabled);
      State state{spec, NextRun(spec.schedule), kept->next_due, kept->pending, kept->waiting, kept->status};
      if (rescheduled) {
        state.next_due = state.next_run.after(now);
        if (state.pending && spec.options.enabled && kept->spec.options.enabled) {
          ++state.status.runs[static_cast<std::size_t>(Outcome::missed)];
          notes.push_back(fmt::format("task {}: the run due at {} ms was still waiting when its schedule changed; "
                                      "skipped (missed)",
                                      spec.name, state.pending->scheduled.time_since_epoch().count()));
        }
        state.pending.reset();
        state.waiting = false;
      }
      state.status.schedule = spec.schedule.describe();
      state.status.run_on = spec.options.run_on;
      state.status.enabled = spec.options.enabled;
      next.push_back(std::move(state));
      continue;
    }
    State state{spec, NextRun(spec.schedule), {}, std::nullopt, false, {}};
    state.status.name = spec.name;
    state.status.schedule = spec.schedule.describe();
    state.status.run_on = spec.options.run_on;
    state.status.enabled = spec.options.enabled;
    // Due at `now` itself counts as due now.
    state.next_due = state.next_run.after(now - std::chrono::milliseconds(1));
    if (const auto last = last_due.find(spec.name); last != last_due.end() && spec.options.enabled) {
      std::optional<WallTime> latest_missed;
      std::uint64_t missed = 0;
      const auto first = state.next_run.after(last->second);
      auto due = first;
      for (; due < now && missed < max_missed_counted; due = state.next_run.after(due)) {
        latest_missed = due;
        ++missed;
      }
      if (due < now) {
        // More than were walked: the latest from the other end, and the count from the
        // period (for a cron schedule, at least what was walked).
        latest_missed = latest_due(state.next_run, due - std::chrono::milliseconds(1), now - std::chrono::milliseconds(1));
        const auto period = spec.schedule.period();
        if (period.count() > 0) missed = static_cast<std::uint64_t>((*latest_missed - first) / period) + 1;
      }
      if (latest_missed) {
        if (spec.options.missed == MissedRuns::run_once) {
          state.pending = Pending{*latest_missed, now};
          state.status.runs[static_cast<std::size_t>(Outcome::missed)] += static_cast<std::uint64_t>(missed - 1);
          notes.push_back(fmt::format("task {}: {} runs were due while corral was down; running the latest once now",
                                      spec.name, missed));
        } else {
          state.status.runs[static_cast<std::size_t>(Outcome::missed)] += static_cast<std::uint64_t>(missed);
          notes.push_back(fmt::format("task {}: {} runs were due while corral was down; skipped (missed = \"skip\")",
                                      spec.name, missed));
        }
      }
    }
    next.push_back(std::move(state));
  }
  states_ = std::move(next);
  return notes;
}

WallTime TaskScheduler::jittered(const State& state, WallTime scheduled) {
  const auto jitter = state.spec.options.jitter;
  if (jitter.count() <= 0) return scheduled;
  return scheduled + std::chrono::milliseconds(static_cast<std::int64_t>(random_() * static_cast<double>(jitter.count())));
}

DueRuns TaskScheduler::take_due(WallTime now, bool can_start) {
  DueRuns due;
  if (can_start) {
    for (auto& run : again_) {
      if (find_state(run.task) != nullptr) due.start.push_back(std::move(run));
    }
    again_.clear();
  }
  for (auto& state : states_) {
    if (!state.spec.options.enabled) continue;
    // A newer due run replaces one still waiting: a task runs at most once per wait.
    // Those replaced are counted, and logged once for the lot.
    std::uint64_t replaced = 0;
    WallTime last_replaced{};
    for (int guard = 0; state.next_due <= now && guard < max_missed_counted; ++guard) {
      if (state.pending) {
        ++replaced;
        last_replaced = state.pending->scheduled;
      }
      state.pending = Pending{state.next_due, jittered(state, state.next_due)};
      state.waiting = false;
      state.next_due = state.next_run.after(state.next_due);
    }
    if (state.next_due <= now) {
      // Past the guard (the clock jumped far ahead): the latest run due replaces the
      // one waiting, and the schedule goes on from now.
      ++replaced;
      last_replaced = state.pending->scheduled;
      const auto latest = latest_due(state.next_run, state.next_due - std::chrono::milliseconds(1), now);
      state.pending = Pending{*latest, jittered(state, *latest)};
      state.next_due = state.next_run.after(now);
    }
    if (replaced > 0) skip(state, Outcome::missed, last_replaced, now, due, replaced);
    if (!state.pending || state.pending->start_at > now) continue;
    const auto scheduled = state.pending->scheduled;
    if (state.spec.options.missed == MissedRuns::skip && now - state.pending->start_at >= missed_grace) {
      state.pending.reset();
      state.waiting = false;
      skip(state, Outcome::missed, scheduled, now, due);
      continue;
    }
    if (!state.spec.options.overlap && state.status.running > 0) {
      state.pending.reset();
      skip(state, Outcome::overlap, scheduled, now, due);
      continue;
    }
    if (can_start) {
      state.pending.reset();
      state.waiting = false;
      due.start.push_back(DueRun{state.spec.name, scheduled, false});
      continue;
    }
    state.waiting = true;
  }
  return due;
}

DueRun TaskScheduler::run_now(std::string_view name, WallTime now) {
  auto* state = find_state(name);
  if (state == nullptr) throw std::invalid_argument(fmt::format("no task named \"{}\"", name));
  if (!state->spec.options.overlap && state->status.running > 0) {
    throw std::invalid_argument(
        fmt::format("task {} is still running and does not allow overlap; try again when it has ended", name));
  }
  return DueRun{state->spec.name, now, true};
}

void TaskScheduler::started(std::string_view task) {
  if (auto* state = find_state(task)) ++state->status.running;
}

void TaskScheduler::ended(std::string_view task, const LastRun& run) {
  recorded(task, run);
  finished(task);
}

void TaskScheduler::finished(std::string_view task) {
  auto* state = find_state(task);
  if (state != nullptr && state->status.running > 0) --state->status.running;
}

void TaskScheduler::again(DueRun run) {
  if (find_state(run.task) != nullptr) again_.push_back(std::move(run));
}

WallTime TaskScheduler::fence_until(std::string_view task, WallTime scheduled, std::chrono::milliseconds margin) const {
  const auto state = std::find_if(states_.begin(), states_.end(), [&](const State& s) { return s.spec.name == task; });
  if (state == states_.end()) return scheduled + margin;
  const auto& options = state->spec.options;
  const auto latest_start = options.missed == MissedRuns::run_once
                                ? std::max(state->next_run.after(scheduled), scheduled + missed_grace)
                                : scheduled + options.jitter + missed_grace;
  return latest_start + margin;
}

void TaskScheduler::recorded(std::string_view task, const LastRun& run) {
  auto* state = find_state(task);
  if (state == nullptr) return;
  state->status.last = run;
  record(*state, run.outcome);
  if (run.outcome == Outcome::elsewhere) return;
  const double seconds = std::chrono::duration<double>(run.duration).count();
  for (std::size_t i = 0; i < duration_buckets.size(); ++i) {
    if (seconds <= duration_buckets[i]) ++state->status.duration_le[i];
  }
  ++state->status.duration_count;
  state->status.duration_sum_seconds += seconds;
}

void TaskScheduler::withdrawn(std::string_view task) {
  auto* state = find_state(task);
  if (state != nullptr && state->status.running > 0) --state->status.running;
}

void TaskScheduler::skipped(std::string_view task, Outcome outcome, WallTime scheduled, WallTime now) {
  auto* state = find_state(task);
  if (state == nullptr) return;
  state->status.last = LastRun{scheduled, now, outcome, {}};
  record(*state, outcome);
}

void TaskScheduler::skip(State& state, Outcome outcome, WallTime scheduled, WallTime now, DueRuns& runs,
                         std::uint64_t count) {
  state.status.last = LastRun{scheduled, now, outcome, {}};
  state.status.runs[static_cast<std::size_t>(outcome)] += count;
  runs.skipped.push_back(SkippedRun{state.spec.name, scheduled, outcome, count});
}

void TaskScheduler::record(State& state, Outcome outcome) {
  ++state.status.runs[static_cast<std::size_t>(outcome)];
}

std::optional<WallTime> TaskScheduler::next_wake() const {
  std::optional<WallTime> next;
  const auto consider = [&next](WallTime time) {
    if (!next || time < *next) next = time;
  };
  for (const auto& state : states_) {
    if (!state.spec.options.enabled) continue;
    consider(state.next_due);
    if (!state.pending) continue;
    if (!state.waiting) {
      consider(state.pending->start_at);
    } else if (state.spec.options.missed == MissedRuns::skip) {
      // Waiting for a worker: a ready worker wakes the supervisor anyway; only the
      // grace's end is a deadline.
      consider(state.pending->start_at + missed_grace);
    }
  }
  return next;
}

const TaskSpec* TaskScheduler::find(std::string_view name) const {
  for (const auto& state : states_) {
    if (state.spec.name == name) return &state.spec;
  }
  return nullptr;
}

TaskScheduler::State* TaskScheduler::find_state(std::string_view name) {
  for (auto& state : states_) {
    if (state.spec.name == name) return &state;
  }
  return nullptr;
}

std::vector<TaskStatus> TaskScheduler::status() const {
  std::vector<TaskStatus> all;
  for (const auto& state : states_) {
    auto status = state.status;
    if (state.spec.options.enabled) status.next = state.pending ? state.pending->scheduled : state.next_due;
    all.push_back(std::move(status));
  }
  return all;
}

}  // namespace corral::tasks
