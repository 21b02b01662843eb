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
