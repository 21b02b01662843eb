#include <gtest/gtest.h>

#include "supervisor/worker_table.hpp"

namespace corral {
namespace {

const Clock::time_point t0{};

TEST(WorkerTable, EveryEmptySlotIsVacant) {
  WorkerTable table(3);
  EXPECT_EQ(table.vacant_slots(t0), (std::vector<unsigned>{0, 1, 2}));
  EXPECT_FALSE(table.all_slots_ready());
}

TEST(WorkerTable, GenerationsCountUpPerSlot) {
  WorkerTable table(2);
  EXPECT_EQ(table.take_generation(0), 1u);
  EXPECT_EQ(table.take_generation(0), 2u);
  EXPECT_EQ(table.take_generation(1), 1u);
}

TEST(WorkerTable, ReadyPoolHasNoVacancy) {
  WorkerTable table(2);
  table.add(0, table.take_generation(0), 100, {}, t0).state = WorkerState::ready;
  EXPECT_FALSE(table.all_slots_ready());
  table.add(1, table.take_generation(1), 101, {}, t0).state = WorkerState::ready;
  EXPECT_TRUE(table.vacant_slots(t0).empty());
  EXPECT_TRUE(table.all_slots_ready());
  EXPECT_EQ(table.count(WorkerState::ready), 2u);
}

TEST(WorkerTable, StartingWorkerFillsItsSlot) {
  WorkerTable table(1);
  table.add(0, table.take_generation(0), 100, {}, t0);
  EXPECT_TRUE(table.vacant_slots(t0).empty());
  EXPECT_FALSE(table.all_slots_ready());
}

TEST(WorkerTable, DrainingWorkerLeavesItsSlotVacantForItsReplacement) {
  WorkerTable table(2);
  table.add(0, table.take_generation(0), 100, {}, t0).state = WorkerState::ready;
  table.add(1, table.take_generation(1), 101, {}, t0).state = WorkerState::ready;

  table.find(100)->state = WorkerState::draining;  // it sent a suicide notice
  EXPECT_EQ(table.vacant_slots(t0), std::vector<unsigned>{0});
  EXPECT_FALSE(table.all_slots_ready());

  auto& replacement = table.add(0, table.take_generation(0), 102, {}, t0);
  EXPECT_EQ(replacement.generation, 2u);
  EXPECT_TRUE(table.vacant_slots(t0).empty());
  EXPECT_EQ(table.size(), 3u) << "slot 0 holds the draining worker and its replacement";

  replacement.state = WorkerState::ready;
  EXPECT_TRUE(table.all_slots_ready());
  const auto gone = table.remove(100);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->slot, 0u);
  EXPECT_EQ(gone->generation, 1u);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_TRUE(table.all_slots_ready());
}

TEST(WorkerTable, RemovingAServingWorkerMakesItsSlotVacant) {
  WorkerTable table(2);
  table.add(0, table.take_generation(0), 100, {}, t0).state = WorkerState::ready;
  table.add(1, table.take_generation(1), 101, {}, t0).state = WorkerState::ready;
  EXPECT_TRUE(table.remove(101));
  EXPECT_FALSE(table.remove(101)) << "unknown pids are not found twice";
  EXPECT_EQ(table.vacant_slots(t0), std::vector<unsigned>{1});
  EXPECT_EQ(table.find(101), nullptr);
}

TEST(WorkerTable, HeldSlotIsVacantOnlyAfterTheHold) {
  WorkerTable table(2);
  table.add(1, table.take_generation(1), 101, {}, t0);
  table.hold_slot(0, t0 + std::chrono::seconds(1));
  EXPECT_TRUE(table.vacant_slots(t0).empty());
  EXPECT_EQ(table.earliest_hold(), t0 + std::chrono::seconds(1));
  EXPECT_EQ(table.vacant_slots(t0 + std::chrono::seconds(1)), std::vector<unsigned>{0});
  table.add(0, table.take_generation(0), 100, {}, t0 + std::chrono::seconds(1));
  EXPECT_FALSE(table.earliest_hold()) << "a filled slot holds nothing";
}

TEST(WorkerTable, UnknownSlotIsRefused) {
  WorkerTable table(1);
  EXPECT_THROW(table.add(1, 1, 100, {}, t0), std::out_of_range);
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

TEST(WorkerTable, RetiringWorkerKeepsServingWhileItsSlotTakesASuccessor) {
  WorkerTable table(1);
  auto& old = table.add(0, table.take_generation(0), 100, {}, t0);
  old.state = WorkerState::ready;
  old.state = WorkerState::retiring;  // reload: replace it once the successor is ready
  EXPECT_EQ(table.vacant_slots(t0), std::vector<unsigned>{0});
  EXPECT_FALSE(table.slot_has_ready_worker(0));

  auto& successor = table.add(0, table.take_generation(0), 101, {}, t0);
  EXPECT_TRUE(table.vacant_slots(t0).empty());
  EXPECT_FALSE(table.slot_has_ready_worker(0)) << "the successor is only starting";
  successor.state = WorkerState::ready;
  EXPECT_TRUE(table.slot_has_ready_worker(0));
  EXPECT_EQ(table.count(WorkerState::retiring), 1u);
}

TEST(WorkerTable, ResizeAddsVacantSlotsAndForgetsRemovedOnes) {
  WorkerTable table(2);
  table.add(0, table.take_generation(0), 100, {}, t0).state = WorkerState::ready;
  table.add(1, table.take_generation(1), 101, {}, t0).state = WorkerState::ready;
  table.resize(3);
  EXPECT_EQ(table.vacant_slots(t0), std::vector<unsigned>{2});
  table.resize(1);
  EXPECT_TRUE(table.vacant_slots(t0).empty());
  EXPECT_TRUE(table.all_slots_ready());
  EXPECT_EQ(table.size(), 2u) << "the worker of a removed slot stays until it is drained and reaped";
}

}  // namespace
}  // namespace corral

#include "supervisor/liveness.hpp"
#include "supervisor/rolling_reload.hpp"
#include "supervisor/status_line.hpp"

namespace corral {
namespace {

using std::chrono::seconds;

WorkerTable ready_pool(unsigned slots) {
  WorkerTable table(slots);
  for (unsigned slot = 0; slot < slots; ++slot) {
    table.add(slot, table.take_generation(slot), static_cast<pid_t>(100 + slot), {}, t0).state = WorkerState::ready;
  }
  return table;
}

TEST(RollingReload, RetiresOneWorkerAtATimeEachAfterTheLastSuccessorIsReady) {
  auto table = ready_pool(2);
  RollingReload reload;
  reload.begin({100, 101});
  bool finished = false;
  const auto first = reload.next(table, finished);
  ASSERT_EQ(first, 100);
  table.find(100)->state = WorkerState::retiring;
  EXPECT_EQ(reload.next(table, finished), std::nullopt) << "its successor is not ready yet";
  EXPECT_FALSE(finished);
  EXPECT_TRUE(retiree_waiting(table));
  EXPECT_TRUE(retirees_to_drain(table).empty());

  table.add(0, table.take_generation(0), 200, {}, t0).state = WorkerState::ready;
  EXPECT_EQ(retirees_to_drain(table), std::vector<pid_t>{100});
  table.find(100)->state = WorkerState::draining;
  EXPECT_EQ(reload.next(table, finished), 101);
  table.find(101)->state = WorkerState::retiring;
  table.add(1, table.take_generation(1), 201, {}, t0).state = WorkerState::ready;
  table.find(101)->state = WorkerState::draining;
  EXPECT_EQ(reload.next(table, finished), std::nullopt);
  EXPECT_TRUE(finished);
  EXPECT_FALSE(reload.active());
}

TEST(RollingReload, SkipsWorkersThatEndedMeanwhile) {
  auto table = ready_pool(2);
  RollingReload reload;
  reload.begin({100, 101});
  table.remove(100);
  table.find(101)->state = WorkerState::draining;
  bool finished = false;
  EXPECT_EQ(reload.next(table, finished), std::nullopt);
  EXPECT_TRUE(finished);
}

TEST(Liveness, HungWorkerIsAbortedThenKilled) {
  auto table = ready_pool(1);
  auto& worker = *table.find(100);
  const auto hang = seconds(30);
  EXPECT_EQ(hang_action(worker, t0 + seconds(29), hang), HangAction::none);
  EXPECT_EQ(hang_deadline(worker, hang), t0 + hang);
  EXPECT_EQ(hang_action(worker, t0 + seconds(30), hang), HangAction::abort);
  worker.abort_sent_at = t0 + seconds(30);
  EXPECT_EQ(hang_action(worker, t0 + seconds(34), hang), HangAction::none);
  EXPECT_EQ(hang_action(worker, t0 + seconds(35), hang), HangAction::kill);
  worker.kill_sent_at = t0 + seconds(35);
  EXPECT_EQ(hang_action(worker, t0 + seconds(99), hang), HangAction::none);
  EXPECT_EQ(hang_deadline(worker, hang), std::nullopt);
  EXPECT_FALSE(table.has_unkillable_worker(t0 + seconds(39), abort_grace));
  EXPECT_TRUE(table.has_unkillable_worker(t0 + seconds(40), abort_grace));
}

TEST(Liveness, WatchdogPingsEveryIntervalAndWithholdsWhileUnhealthy) {
  WatchdogPinger off(seconds(0));
  EXPECT_EQ(off.on_turn(t0, true), WatchdogPinger::Action::none);
  EXPECT_EQ(off.next_deadline(), std::nullopt);
  WatchdogPinger pinger(seconds(5));
  EXPECT_EQ(pinger.on_turn(t0 + seconds(1), true), WatchdogPinger::Action::ping);
  EXPECT_EQ(pinger.on_turn(t0 + seconds(3), true), WatchdogPinger::Action::none);
  EXPECT_EQ(pinger.next_deadline(), t0 + seconds(6));
  EXPECT_EQ(pinger.on_turn(t0 + seconds(6), false), WatchdogPinger::Action::withhold);
  EXPECT_EQ(pinger.on_turn(t0 + seconds(11), true), WatchdogPinger::Action::ping);
}

TEST(StatusLine, CountsRequestsOfLiveAndExitedWorkers) {
  auto table = ready_pool(2);
  table.find(100)->requests = 10;
  table.find(101)->requests = 5;
  PoolCounters counters;
  counters.restarts = 2;
  counters.recycled = 1;
  counters.last_event = "worker 1 hung";
  counters.retired.by_class[1] = 90;  // exited workers' 2xx
  counters.retired.unclassified = 10;  // and what one without a board entry said in heartbeats
  EXPECT_EQ(status_line(table, counters, StoreView{"sqlite /s/store.sqlite3", 2, 0, {}, 0}),
            "2/2 workers ready \u00b7 115 requests \u00b7 2 restarts \u00b7 1 recycled \u00b7 store sqlite "
            "/s/store.sqlite3 up \u00b7 last: worker 1 hung");
}

TEST(StatusLine, NamesTheStoreAndHowManyWorkersCannotReachIt) {
  const auto table = ready_pool(2);
  const PoolCounters counters;
  EXPECT_EQ(status_line(table, counters, StoreView{"redis 10.0.0.5:6379/0", 2, 1, {}, 0}),
            "2/2 workers ready \u00b7 0 requests \u00b7 0 restarts \u00b7 store redis 10.0.0.5:6379/0 DOWN in 1/2 "
            "workers");
  EXPECT_EQ(status_line(table, counters, StoreView{"off", 0, 0, {}, 0}),
            "2/2 workers ready \u00b7 0 requests \u00b7 0 restarts \u00b7 store off");
}

TEST(StatusLine, NamesTheSentinelsPrimaryAndTheFailoversSeen) {
  const auto table = ready_pool(2);
  const PoolCounters counters;
  const std::string sentinel = "redis-sentinel corral/0 (3 sentinels)";
  EXPECT_EQ(status_line(table, counters, StoreView{sentinel, 2, 0, "10.0.0.2:6379", 1}),
            "2/2 workers ready \u00b7 0 requests \u00b7 0 restarts \u00b7 store " + sentinel +
                " up, primary 10.0.0.2:6379 \u00b7 1 failover seen");
  EXPECT_EQ(status_line(table, counters, StoreView{sentinel, 2, 2, "", 3}),
            "2/2 workers ready \u00b7 0 requests \u00b7 0 restarts \u00b7 store " + sentinel +
                " DOWN in 2/2 workers (asking the sentinels for the primary) \u00b7 3 failovers seen");
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

TEST(RateWindow, IsTheRateOverTheLastTenSeconds) {
  RateWindow rate;
  const auto t0 = RateWindow::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_EQ(rate.per_second(), 0);
  rate.add(t0, 0);
  EXPECT_EQ(rate.per_second(), 0);  // one sample is no rate
  for (int second = 1; second <= 20; ++second) {
    rate.add(t0 + std::chrono::seconds(second), second <= 10 ? second * 100.0 : 1000 + (second - 10) * 10.0);
  }
  // The last ten seconds went from 1000 to 1100: 10 a second, whatever came before.
  EXPECT_DOUBLE_EQ(rate.per_second(), 10);
  EXPECT_DOUBLE_EQ(rate.latest(), 1100);
}

}  // namespace
}  // namespace corral
