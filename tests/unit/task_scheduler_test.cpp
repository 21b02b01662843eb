// The supervisor's task policy with an injected clock and random source: when runs are
// due, jitter, overlap, missed runs, catch-up after downtime, reloads and manual runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"
#include "tasks/last_due_file.hpp"
#include "tasks/next_run.hpp"
#include "tasks/task_run_state.hpp"
#include "tasks/task_scheduler.hpp"

namespace corral::tasks {
namespace {

using namespace std::chrono_literals;

WallTime at_ms(std::int64_t ms) {
  return WallTime(std::chrono::milliseconds(ms));
}

TaskSpec every(const std::string& name, std::chrono::seconds period, TaskOptions options = {}) {
  return TaskSpec{name, Schedule::every(period), options};
}

TaskOptions run_once() {
  TaskOptions options;
  options.missed = MissedRuns::run_once;
  return options;
}

// A scheduler whose jitter draws are always `draw` (0 to 1).
TaskScheduler scheduler_drawing(double draw = 0.0) {
  return TaskScheduler([draw] { return draw; });
}

std::vector<std::int64_t> scheduled_ms(const std::vector<DueRun>& runs) {
  std::vector<std::int64_t> times;
  for (const auto& run : runs) times.push_back(run.scheduled.time_since_epoch().count());
  return times;
}

std::vector<std::int64_t> ms(WallTime time) {
  return {time.time_since_epoch().count()};
}

std::uint64_t runs(const TaskStatus& status, Outcome outcome) {
  return status.runs[static_cast<std::size_t>(outcome)];
}

TEST(NextRun, EveryPeriodIsAlignedToTheEpochSoThatMachinesAgree) {
  const NextRun next(Schedule::every(60s));
  EXPECT_EQ(next.after(at_ms(0)), at_ms(60'000));
  EXPECT_EQ(next.after(at_ms(59'999)), at_ms(60'000));
  EXPECT_EQ(next.after(at_ms(60'000)), at_ms(120'000)) << "strictly after";
}

TEST(NextRun, CronIsReadInItsZone) {
  // 03:00 in Berlin in winter is 02:00 UTC; 2026-01-15 00:00 UTC is 1768435200.
  const NextRun next(Schedule::cron("0 3 * * *", "Europe/Berlin"));
  EXPECT_EQ(next.after(at_ms(1768435200'000)), at_ms((1768435200 + 2 * 3600) * 1000LL));
}

TEST(TaskScheduler, ARunIsDueAtItsTimeAndOnlyOnce) {
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("tick", 1s)}, at_ms(10'500));
  EXPECT_TRUE(scheduler.take_due(at_ms(10'999), true).start.empty());
  EXPECT_EQ(scheduler.next_wake(), at_ms(11'000));
  EXPECT_EQ(scheduled_ms(scheduler.take_due(at_ms(11'000), true).start), std::vector<std::int64_t>{11'000});
  EXPECT_TRUE(scheduler.take_due(at_ms(11'001), true).start.empty());
  EXPECT_EQ(scheduler.next_wake(), at_ms(12'000));
}

TEST(TaskScheduler, JitterDelaysTheStartButNotTheRunsName) {
  TaskOptions options;
  options.jitter = 400ms;
  auto scheduler = scheduler_drawing(0.5);
  scheduler.configure({every("tick", 1s, options)}, at_ms(500));
  EXPECT_TRUE(scheduler.take_due(at_ms(1'000), true).start.empty());
  EXPECT_EQ(scheduler.next_wake(), at_ms(1'200));
  EXPECT_EQ(scheduled_ms(scheduler.take_due(at_ms(1'200), true).start), std::vector<std::int64_t>{1'000});
}

TEST(TaskScheduler, ARunDueWhileThePreviousRunsIsSkippedAsOverlapUnlessAllowed) {
  TaskOptions overlapping;
  overlapping.overlap = true;
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("strict", 1s), every("loose", 1s, overlapping)}, at_ms(500));
  ASSERT_EQ(scheduler.take_due(at_ms(1'000), true).start.size(), 2U);
  scheduler.started("strict");
  scheduler.started("loose");
  const auto due = scheduler.take_due(at_ms(2'000), true);
  ASSERT_EQ(due.start.size(), 1U);
  EXPECT_EQ(due.start[0].task, "loose");
  ASSERT_EQ(due.skipped.size(), 1U);
  EXPECT_EQ(due.skipped[0].task, "strict");
  EXPECT_EQ(due.skipped[0].outcome, Outcome::overlap);
  EXPECT_EQ(runs(scheduler.status()[0], Outcome::overlap), 1U);
  scheduler.ended("strict", LastRun{at_ms(1'000), at_ms(2'500), Outcome::ok, 1500ms});
  EXPECT_EQ(scheduler.take_due(at_ms(3'000), true).start.size(), 2U);
}

TEST(TaskScheduler, WithNoWorkerARunWaitsThenIsMissedAfterTheGraceWhenSkipping) {
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("hourly", 3600s)}, at_ms(1));
  const auto due_at = 3'600'000;
  EXPECT_TRUE(scheduler.take_due(at_ms(due_at), false).start.empty());
  EXPECT_EQ(scheduler.next_wake(), at_ms(due_at) + TaskScheduler::missed_grace) << "no spinning while waiting";
  // A worker within the grace: the run starts, late.
  auto late = scheduler_drawing();
  late.configure({every("hourly", 3600s)}, at_ms(1));
  EXPECT_TRUE(late.take_due(at_ms(due_at), false).start.empty());
  EXPECT_EQ(late.take_due(at_ms(due_at + 9'000), true).start.size(), 1U);
  // None within it: missed.
  const auto missed = scheduler.take_due(at_ms(due_at + 10'000), false);
  ASSERT_EQ(missed.skipped.size(), 1U);
  EXPECT_EQ(missed.skipped[0].outcome, Outcome::missed);
  EXPECT_TRUE(scheduler.take_due(at_ms(due_at + 11'000), true).start.empty());
}

TEST(TaskScheduler, WithNoWorkerARunOnceTaskWaitsAndANewerRunReplacesTheWaitingOne) {
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("tick", 1s, run_once())}, at_ms(500));
  EXPECT_TRUE(scheduler.take_due(at_ms(1'000), false).start.empty());
  EXPECT_FALSE(scheduler.next_wake() < at_ms(2'000)) << "waiting for a worker is not a deadline";
  const auto later = scheduler.take_due(at_ms(30'000), false);
  ASSERT_EQ(later.skipped.size(), 1U) << "one entry for the lot";
  EXPECT_EQ(later.skipped[0].count, 29U);
  EXPECT_EQ(later.skipped[0].scheduled, at_ms(29'000));
  EXPECT_EQ(scheduled_ms(scheduler.take_due(at_ms(30'100), true).start), std::vector<std::int64_t>{30'000});
}

TEST(TaskScheduler, ARunTheSupervisorComesToTooLateIsMissedWhenSkipping) {
  // A frozen VM or a clock step: the supervisor looks again long after the run was due.
  auto skipping = scheduler_drawing();
  skipping.configure({every("hourly", 3600s)}, at_ms(1));
  const auto due = skipping.take_due(at_ms(3'600'000 + 60'000), true);
  EXPECT_TRUE(due.start.empty());
  ASSERT_EQ(due.skipped.size(), 1U);
  EXPECT_EQ(due.skipped[0].outcome, Outcome::missed);
  auto catching_up = scheduler_drawing();
  catching_up.configure({every("hourly", 3600s, run_once())}, at_ms(1));
  EXPECT_EQ(catching_up.take_due(at_ms(3'600'000 + 60'000), true).start.size(), 1U);
}

TEST(TaskScheduler, ATaskEnabledAgainOnReloadIsDueFromThenOn) {
  TaskOptions off;
  off.enabled = false;
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("tick", 1s, off)}, at_ms(500));
  EXPECT_TRUE(scheduler.take_due(at_ms(600'000), true).start.empty());
  scheduler.configure({every("tick", 1s)}, at_ms(600'500));
  const auto due = scheduler.take_due(at_ms(601'000), true);
  EXPECT_TRUE(due.skipped.empty()) << "what fell due while it was off was not missed";
  EXPECT_EQ(scheduled_ms(due.start), std::vector<std::int64_t>{601'000});
}

TEST(TaskScheduler, AfterDowntimeRunOnceRunsTheLatestMissedRunAndSkipOnlyCounts) {
  auto scheduler = scheduler_drawing();
  const auto notes = scheduler.configure({every("once", 60s, run_once()), every("skip", 60s), every("new", 60s)},
                                         at_ms(330'000), LastDue{{"once", at_ms(60'000)}, {"skip", at_ms(60'000)}});
  ASSERT_EQ(notes.size(), 2U);
  EXPECT_NE(notes[0].find("4 runs were due"), std::string::npos) << notes[0];
  const auto due = scheduler.take_due(at_ms(330'000), true);
  EXPECT_EQ(scheduled_ms(due.start), std::vector<std::int64_t>{300'000}) << "only the latest missed run, once";
  const auto status = scheduler.status();
  EXPECT_EQ(runs(status[1], Outcome::missed), 4U);
  EXPECT_EQ(scheduled_ms(scheduler.take_due(at_ms(360'000), true).start).size(), 3U);
}

// Down since `last`, or the clock stepped from `last`; up again `outage` later, half a
// second past a run.
struct Outage {
  TaskSpec spec;
  std::chrono::milliseconds outage;
  bool recorded;  // the last run is in tasks.last (a restart), or not (a clock step)
};

const auto every_second = every("every", 1s, run_once());
const auto cron_every_second = TaskSpec{"cron", Schedule::cron("* * * * * *", "UTC"), run_once()};

void expect_the_latest_missed_run(const std::vector<Outage>& table) {
  const auto last = at_ms(1'000'000);
  for (const auto& row : table) {
    SCOPED_TRACE(row.spec.name + (row.recorded ? " after a restart, " : " after a clock step, ") +
                 std::to_string(row.outage.count()) + " ms");
    auto scheduler = scheduler_drawing();
    const auto now = last + row.outage;
    if (row.recorded) {
      ASSERT_EQ(scheduler.configure({row.spec}, now, LastDue{{row.spec.name, last}}).size(), 1U);
    } else {
      scheduler.configure({row.spec}, last);
    }
    EXPECT_EQ(scheduled_ms(scheduler.take_due(now, true).start), ms(now - 500ms));
  }
}

// Beyond 100,000 runs the scheduler stops walking run by run: the latest all the same.
TEST(TaskScheduler, AfterAnyOutageRunOnceRunsTheLatestMissedRun) {
  expect_the_latest_missed_run({
      {every_second, 30h + 500ms, true},
      {cron_every_second, 30h + 500ms, true},
      {every_second, 100'001s + 500ms, true},
      {cron_every_second, 100'001s + 500ms, true},
  });
  auto scheduler = scheduler_drawing();
  const auto notes = scheduler.configure({every_second}, at_ms(1'000'000) + 30h + 500ms,
                                         LastDue{{"every", at_ms(1'000'000)}});
  EXPECT_NE(notes[0].find("108000 runs were due"), std::string::npos) << notes[0];
}

TEST(TaskScheduler, AClockJumpFarAheadRunsTheLatestDueRun) {
  expect_the_latest_missed_run({{every_second, 30h + 500ms, false}, {cron_every_second, 30h + 500ms, false}});
}

TEST(TaskScheduler, AReloadKeepsWhatRunsAndANewScheduleTakesEffect) {
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("tick", 1s), every("gone", 1s)}, at_ms(500));
  ASSERT_EQ(scheduler.take_due(at_ms(1'000), true).start.size(), 2U);
  scheduler.started("tick");
  scheduler.configure({every("tick", 10s)}, at_ms(1'500));
  ASSERT_EQ(scheduler.status().size(), 1U);
  EXPECT_EQ(scheduler.status()[0].running, 1U) << "a run going on keeps counting";
  EXPECT_EQ(scheduler.status()[0].schedule, "every 10s");
  EXPECT_EQ(scheduler.next_wake(), at_ms(10'000));
  scheduler.ended("gone", LastRun{});  // a task that went away in the reload: ignored
}

TEST(TaskScheduler, ADisabledTaskIsNeverDueButCanBeRunByHand) {
  TaskOptions off;
  off.enabled = false;
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("off", 1s, off)}, at_ms(500));
  EXPECT_TRUE(scheduler.take_due(at_ms(5'000), true).start.empty());
  EXPECT_FALSE(scheduler.next_wake());
  const auto run = scheduler.run_now("off", at_ms(5'000));
  EXPECT_TRUE(run.manual);
  EXPECT_EQ(run.scheduled, at_ms(5'000));
}

TEST(TaskScheduler, RunNowRefusesAnUnknownTaskAndAnOverlap) {
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("tick", 1s)}, at_ms(500));
  EXPECT_THROW(scheduler.run_now("tock", at_ms(600)), std::invalid_argument);
  scheduler.started("tick");
  try {
    scheduler.run_now("tick", at_ms(600));
    FAIL() << "a second run of a task without overlap";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("still running"), std::string::npos) << error.what();
  }
  scheduler.withdrawn("tick");
  EXPECT_NO_THROW(scheduler.run_now("tick", at_ms(600)));
}

TEST(TaskScheduler, EndedRunsAreCountedByOutcomeWithTheirDurations) {
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("tick", 1s)}, at_ms(500));
  scheduler.started("tick");
  scheduler.ended("tick", LastRun{at_ms(1'000), at_ms(1'050), Outcome::ok, 50ms});
  scheduler.started("tick");
  scheduler.ended("tick", LastRun{at_ms(2'000), at_ms(4'000), Outcome::failed, 2s});
  const auto status = scheduler.status()[0];
  EXPECT_EQ(runs(status, Outcome::ok), 1U);
  EXPECT_EQ(runs(status, Outcome::failed), 1U);
  EXPECT_EQ(status.duration_count, 2U);
  EXPECT_DOUBLE_EQ(status.duration_sum_seconds, 2.05);
  EXPECT_EQ(status.duration_le[1], 1U);  // <= 0.1 s
  EXPECT_EQ(status.duration_le[3], 2U);  // <= 10 s
  EXPECT_EQ(status.last->outcome, Outcome::failed);
  EXPECT_EQ(status.running, 0U);
}

TEST(TaskScheduler, ARunToStartAgainWaitsForAWorkerAndKeepsItsName) {
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("tick", 3600s)}, at_ms(500));
  scheduler.again(DueRun{"tick", at_ms(0), false, 2, false});
  scheduler.again(DueRun{"gone", at_ms(0), false, 2, false});  // no such task: dropped
  EXPECT_TRUE(scheduler.take_due(at_ms(1'000), false).start.empty()) << "no worker: it waits";
  const auto due = scheduler.take_due(at_ms(60'000), true);
  ASSERT_EQ(due.start.size(), 1U);
  EXPECT_EQ(due.start[0].scheduled, at_ms(0));
  EXPECT_EQ(due.start[0].attempt, 2U);
  EXPECT_TRUE(scheduler.take_due(at_ms(61'000), true).start.empty()) << "once";
}

TEST(TaskScheduler, ARunsLockOutlivesEveryStartAnyInstanceCouldStillMake) {
  TaskOptions jittered;
  jittered.jitter = 120s;
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("jittered", 3600s, jittered), every("once", 3600s, run_once())}, at_ms(500));
  EXPECT_EQ(scheduler.fence_until("jittered", at_ms(3'600'000), 30s),
            at_ms(3'600'000) + 120s + TaskScheduler::missed_grace + 30s);
  EXPECT_EQ(scheduler.fence_until("once", at_ms(3'600'000), 30s), at_ms(7'200'000) + 30s)
      << "a run-once run may start until the next is due";
}

TEST(TaskScheduler, ARunPastItsTimeoutCountsAsRunningUntilItsWorkerExits) {
  auto scheduler = scheduler_drawing();
  scheduler.configure({every("tick", 1s)}, at_ms(500));
  ASSERT_EQ(scheduler.take_due(at_ms(1'000), true).start.size(), 1U);
  scheduler.started("tick");
  scheduler.recorded("tick", LastRun{at_ms(1'000), at_ms(1'900), Outcome::timeout, 900ms});
  EXPECT_EQ(scheduler.status()[0].running, 1U);
  EXPECT_EQ(scheduler.take_due(at_ms(2'000), true).skipped.size(), 1U) << "no overlap with the stuck run";
  scheduler.finished("tick");
  EXPECT_EQ(scheduler.take_due(at_ms(3'000), true).start.size(), 1U);
}

TEST(TaskRun, ShowsItsRunAndWhenToStop) {
  auto state = std::make_shared<detail::TaskRunAccess::State>();
  state->task = "purge-sessions";
  state->scheduled = std::chrono::system_clock::time_point(std::chrono::seconds(60));
  state->attempt = 2;
  state->deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  const auto run = detail::TaskRunAccess::make(state);
  EXPECT_EQ(run.task(), "purge-sessions");
  EXPECT_EQ(run.scheduled(), std::chrono::system_clock::time_point(std::chrono::seconds(60)));
  EXPECT_EQ(run.attempt(), 2U);
  EXPECT_FALSE(run.stop_requested());
  state->stop = true;
  EXPECT_TRUE(run.stop_requested()) << "the worker must stop";
  state->stop = false;
  state->deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  EXPECT_TRUE(run.stop_requested()) << "past its timeout";
}

TEST(LastDueFile, KeepsEachTasksLastRunAcrossRestarts) {
  test::TempDir directory;
  const auto file = directory / "tasks.last";
  EXPECT_TRUE(load_last_due(file).empty());
  save_last_due(file, LastDue{{"tick", at_ms(1'000)}, {"purge-sessions", at_ms(60'000)}});
  const auto loaded = load_last_due(file);
  ASSERT_EQ(loaded.size(), 2U);
  EXPECT_EQ(loaded.at("purge-sessions"), at_ms(60'000));
  std::ofstream(file, std::ios::app) << "not a line\nBAD-NAME 5\n";
  EXPECT_EQ(load_last_due(file).size(), 2U);
  EXPECT_THROW(save_last_due(directory / "missing/tasks.last", {}), std::system_error);
}

TEST(LastDueFile, AFileThatCannotBeReadIsAnErrorNamingItNotAnEmptyFile) {
  test::TempDir directory;
  std::filesystem::create_directory(directory / "tasks.last");  // read() fails with EISDIR
  try {
    load_last_due(directory / "tasks.last");
    FAIL() << "read as empty";
  } catch (const std::system_error& error) {
    EXPECT_NE(std::string(error.what()).find("tasks.last"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace corral::tasks
