// Scheduled tasks: the supervisor keeps the schedule (tasks/task_scheduler.hpp), sends
// each due run to a ready worker (or to every one), and records how each run ends:
// from the worker's report, from its death, or from its timeout.
#include <signal.h>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/store_address.hpp"
#include "store/open_store.hpp"
#include "supervisor/supervisor.hpp"
#include "supervisor/task_journal.hpp"
#include "supervisor/wait_status.hpp"
#include "tasks/last_due_file.hpp"

namespace corral {
namespace {

tasks::Outcome outcome_of(ipc::TaskEnd end) {
  switch (end) {
    case ipc::TaskEnd::ok: return tasks::Outcome::ok;
    case ipc::TaskEnd::elsewhere: return tasks::Outcome::elsewhere;
    case ipc::TaskEnd::refused: return tasks::Outcome::missed;  // it never started
    case ipc::TaskEnd::failed: break;
  }
  return tasks::Outcome::failed;
}

}  // namespace

void Supervisor::configure_tasks(bool at_start) {
  wall_now_ = tasks::read_wall_clock();
  if (at_start) {
    if (const auto directory = detail::state_directory(settings_.store); !directory.empty()) {
      last_due_path_ = directory + "/tasks.last";
      try {
        last_due_ = tasks::load_last_due(last_due_path_);
      } catch (const std::system_error& error) {
        spdlog::warn("{}; runs missed while corral was down are not known (it will be written anew)", error.what());
      }
    } else if (!settings_.tasks.empty()) {
      spdlog::info("no state directory: runs missed while corral is down are not known after a restart");
    }
  }
  if (settings_.app.enabled()) {
    // The service's functions are not the app's code: only the file's commands run,
    // in the agent.
    const auto functions = std::erase_if(settings_.tasks, [](const tasks::TaskSpec& task) { return task.command.empty(); });
    if (at_start && functions > 0) spdlog::info("app workers: the service's own {} task(s) are not scheduled", functions);
    if (at_start && !settings_.tasks.empty()) {
      spdlog::info("tasks run in the agent, worker {}: a worker of corral's own beside the app's",
                   table_.slot_count() - 1);
    }
  }
  for (const auto& note : scheduler_.configure(settings_.tasks, wall_now_, at_start ? last_due_ : tasks::LastDue{})) {
    spdlog::warn("{}", note);
  }
  // Across machines only a store they share can fence a run.
  store_is_shared_ = detail::parse_store_address(settings_.store.address).kind != detail::StoreAddress::Kind::sqlite;
  for (const auto& task : settings_.tasks) {
    if (at_start) {
      spdlog::info("task {}: {}, on {} worker{}{}", task.name, task.schedule.describe(),
                   tasks::run_on_name(task.options.run_on), task.options.run_on == RunOn::all ? "s" : "",
                   task.options.enabled ? "" : " (disabled)");
    }
  }
}

void Supervisor::run_due_tasks() {
  if (mode_ == Mode::stopping) return;
  const bool can_start = table_.count(WorkerState::ready) > 0;
  const auto due = scheduler_.take_due(wall_now_, can_start);
  for (const auto& skipped : due.skipped) {
    auto why = skipped.outcome == tasks::Outcome::overlap
                   ? std::string("skipped: the previous run still runs (overlap = false)")
                   : std::string("skipped: it could not start in time (no ready worker, or the supervisor was held up)");
    if (skipped.count > 1) why = fmt::format("{} runs {}", skipped.count, why);
    log_task_run(program_.name,
                 TaskRunEntry{skipped.task, skipped.outcome, skipped.scheduled, {}, {}, {}, 1, false, std::move(why)});
  }
  for (const auto& run : due.start) dispatch_task(run);
}

std::vector<unsigned> Supervisor::dispatch_task(const tasks::DueRun& run) {
  const auto* spec = scheduler_.find(run.task);
  if (spec == nullptr) return {};
  const auto attempt = run.attempt;
  // Least loaded first: fewest task runs, then fewest connections.
  std::vector<std::pair<std::pair<std::size_t, std::uint32_t>, WorkerRecord*>> candidates;
  for (auto& [pid, worker] : table_) {
    if (worker.state != WorkerState::ready || !worker.channel.open()) continue;
    const auto runs = static_cast<std::size_t>(std::count_if(
        task_runs_.begin(), task_runs_.end(), [pid = pid](const auto& entry) { return entry.second.pid == pid; }));
    const auto* entry = load_board_.find(pid);
    const auto connections = entry != nullptr ? entry->connections.load(std::memory_order_relaxed) : 0U;
    candidates.push_back({{runs, connections}, &worker});
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  const bool to_all = spec->options.run_on == RunOn::all;
  const bool locked = store_is_shared_ && !to_all && !run.manual;
  std::vector<unsigned> slots;
  for (auto& [load, worker] : candidates) {
    const auto id = next_task_run_++;
    ipc::TaskFields fields;
    fields.run = id;
    fields.timeout_ms = static_cast<std::uint64_t>(spec->options.timeout.count());
    if (locked) {
      // Taken for the run's timeout, and at least until no other instance could still
      // start this run (its jitter, its wait for a worker, clocks that disagree).
      const auto fence = scheduler_.fence_until(run.task, run.scheduled, tasks::clock_margin);
      const auto until_fence = std::chrono::duration_cast<std::chrono::milliseconds>(fence - wall_now_);
      fields.lock_ms = static_cast<std::uint64_t>(std::max(spec->options.timeout + tasks::clock_margin, until_fence).count());
      fields.fence_until_ms = static_cast<std::uint64_t>(fence.time_since_epoch().count());
    }
    fields.token = instance_token_;
    fields.attempt = attempt;
    const auto scheduled_ms = static_cast<std::uint64_t>(run.scheduled.time_since_epoch().count());
    if (!worker->channel.send(ipc::Message::run_task(run.task, scheduled_ms, fields))) continue;
    task_runs_.emplace(id, TaskRunRecord{run.task, run.scheduled, worker->pid, worker->slot, attempt, run.manual,
                                         now_, now_ + spec->options.timeout, std::nullopt, false, run.resent});
    scheduler_.started(run.task);
    slots.push_back(worker->slot);
    if (!to_all) break;
  }
  if (slots.empty() && run.manual) return slots;  // the command says so
  if (slots.empty()) {
    // Every ready worker's channel was full or gone: it waits for nobody.
    scheduler_.skipped(run.task, tasks::Outcome::missed, run.scheduled, wall_now_);
    log_task_run(program_.name, TaskRunEntry{run.task, tasks::Outcome::missed, run.scheduled, {}, {}, {}, attempt,
                                             run.manual, "no ready worker could take it"});
    return slots;
  }
  if (!run.manual) remember_last_due(run.task, run.scheduled);
  return slots;
}

void Supervisor::remember_last_due(const std::string& task, tasks::WallTime scheduled) {
  last_due_[task] = scheduled;
  if (last_due_path_.empty()) return;
  try {
    tasks::save_last_due(last_due_path_, last_due_);
    last_due_save_failed_ = false;
  } catch (const std::exception& error) {
    if (!last_due_save_failed_) {
      spdlog::warn("{}; runs missed while corral is down will not be known after a restart", error.what());
    }
    last_due_save_failed_ = true;
  }
}

void Supervisor::on_task_message(WorkerRecord& worker, const ipc::Message& message) {
  const auto found = task_runs_.find(message.task.run);
  if (found == task_runs_.end() || found->second.pid != worker.pid) return;
  auto& run = found->second;
  if (message.kind == ipc::Kind::task_started) {
    run.delay = std::chrono::microseconds(static_cast<std::int64_t>(message.value)) -
                std::chrono::duration_cast<std::chrono::microseconds>(run.scheduled.time_since_epoch());
    spdlog::debug("task {}: run started on worker {} (pid {}), {} µs after it was due", run.task, run.slot, run.pid,
                  run.delay->count());
    return;
  }
  const auto end = static_cast<ipc::TaskEnd>(message.value);
  if (run.timed_out) {
    spdlog::info("task {}: the run on worker {} ended {} after its timeout", run.task, run.slot,
                 tasks::outcome_name(outcome_of(end)));
    scheduler_.finished(run.task);
    task_runs_.erase(found);
    return;
  }
  auto record = std::move(run);
  task_runs_.erase(found);
  const auto* spec = scheduler_.find(record.task);
  if (end == ipc::TaskEnd::refused && !record.resent && mode_ != Mode::stopping && spec != nullptr &&
      spec->options.run_on == RunOn::one) {
    // The worker began draining as the run was sent (or could not take its lock):
    // the next ready worker takes it, once. (For run_on = all, the draining worker's
    // successor has the next run.)
    scheduler_.withdrawn(record.task);
    spdlog::info("task {}: worker {} could not take the run ({}); the next ready worker takes it", record.task,
                 record.slot, message.reason_text());
    scheduler_.again(tasks::DueRun{record.task, record.scheduled, record.manual, record.attempt, true});
    return;
  }
  end_task_run(record, outcome_of(end), std::chrono::microseconds(message.task.duration_us),
               std::string(message.reason_text()));
}

void Supervisor::end_task_run(const TaskRunRecord& run, tasks::Outcome outcome, std::chrono::microseconds duration,
                              std::string detail) {
  record_task_run(run, outcome, duration, std::move(detail));
  scheduler_.finished(run.task);
}

void Supervisor::record_task_run(const TaskRunRecord& run, tasks::Outcome outcome, std::chrono::microseconds duration,
                                 std::string detail) {
  scheduler_.recorded(run.task, tasks::LastRun{run.scheduled, wall_now_, outcome, duration});
  log_task_run(program_.name, TaskRunEntry{run.task, outcome, run.scheduled, duration, run.delay, run.slot,
                                           run.attempt, run.manual, std::move(detail)});
}

void Supervisor::on_task_worker_exit(const WorkerRecord& worker, const std::string& how) {
  std::vector<TaskRunRecord> lost;
  for (auto it = task_runs_.begin(); it != task_runs_.end();) {
    if (it->second.pid != worker.pid) {
      ++it;
      continue;
    }
    if (it->second.timed_out) {
      scheduler_.finished(it->second.task);
    } else {
      lost.push_back(std::move(it->second));
    }
    it = task_runs_.erase(it);
  }
  for (const auto& run : lost) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now_ - run.sent_at);
    end_task_run(run, tasks::Outcome::crashed, elapsed, fmt::format("its worker {}", how));
    const auto* spec = scheduler_.find(run.task);
    if (spec != nullptr && spec->options.retry && run.attempt == 1 && mode_ != Mode::stopping &&
        spec->options.run_on == RunOn::one) {
      // Once more, on the next ready worker: another, or this one's replacement.
      spdlog::info("task {}: the run is retried on the next ready worker (retry = true)", run.task);
      scheduler_.again(tasks::DueRun{run.task, run.scheduled, run.manual, 2, false});
    }
  }
}

void Supervisor::check_task_timeouts() {
  for (auto& [id, run] : task_runs_) {
    if (run.timed_out || now_ < run.deadline) continue;
    run.timed_out = true;
    const auto* spec = scheduler_.find(run.task);
    const auto timeout = spec != nullptr ? spec->options.timeout : std::chrono::milliseconds(0);
    // Recorded now; still running (overlap, corral_task_running) until it ends or
    // its worker exits.
    if (spec != nullptr && !spec->command.empty()) {
      // Its worker stops the program itself (SIGTERM, then SIGKILL): the worker stays.
      record_task_run(run, tasks::Outcome::timeout, std::chrono::duration_cast<std::chrono::microseconds>(timeout),
                      fmt::format("still running after its timeout of {}; its program is being stopped",
                                  seconds_text(timeout)));
      continue;
    }
    record_task_run(run, tasks::Outcome::timeout, std::chrono::duration_cast<std::chrono::microseconds>(timeout),
                    fmt::format("still running after its timeout of {}; recycling the worker", seconds_text(timeout)));
    // Its thread cannot be stopped from outside: the worker is replaced, as uWSGI's
    // harakiri does, but gracefully: its successor first, then its requests drain.
    auto* worker = table_.find(run.pid);
    if (worker == nullptr || worker->state == WorkerState::draining || worker->state == WorkerState::retiring) continue;
    if (worker->state == WorkerState::starting) {
      drain(*worker, "task timeout");
      continue;
    }
    worker->state = WorkerState::retiring;
    worker->retire_reason = "task timeout";
    spdlog::warn("recycling worker {} (pid {}): task {} is past its timeout; its successor starts now", worker->slot,
                 worker->pid, run.task);
    note_restart(metrics::RestartCause::task_timeout, worker->slot);
    counters_.last_event = fmt::format("worker {} recycled: task {} timed out", worker->slot, run.task);
  }
}

std::optional<Clock::time_point> Supervisor::next_task_deadline() const {
  std::optional<Clock::time_point> next;
  for (const auto& [id, run] : task_runs_) {
    if (!run.timed_out && (!next || run.deadline < *next)) next = run.deadline;
  }
  if (mode_ == Mode::stopping) return next;
  if (const auto wake = scheduler_.next_wake()) {
    const auto at = now_ + std::chrono::duration_cast<Clock::duration>(*wake - wall_now_);
    if (!next || at < *next) next = at;
  }
  return next;
}

std::string Supervisor::run_task_now(const std::string& name) {
  if (mode_ == Mode::stopping) throw std::invalid_argument("corral is stopping");
  const auto run = scheduler_.run_now(name, tasks::read_wall_clock());  // throws for an unknown task
  const auto slots = dispatch_task(run);
  if (slots.empty()) throw std::invalid_argument("no worker is ready to run it; try again in a moment");
  spdlog::info("task {}: run by hand on worker{} {}", name, slots.size() > 1 ? "s" : "", fmt::join(slots, ", "));
  return fmt::format("{{\"task\":\"{}\",\"workers\":[{}]}}", name, fmt::join(slots, ","));
}

}  // namespace corral
