#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ipc/load_board.hpp"

namespace corral::ipc {
namespace {

TEST(LoadBoard, EntriesAreSharedByPidAndFreedOnRelease) {
  auto board = LoadBoard::create();
  ASSERT_TRUE(board.valid());
  auto* first = board.claim(101);
  auto* second = board.claim(102);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first, second);
  first->connections = 7;
  EXPECT_EQ(board.entries().size(), 2u);

  // Another process maps the same memory through the inherited fd.
  auto view = LoadBoard::attach(::dup(board.fd()));
  ASSERT_EQ(view.entries().size(), 2u);
  EXPECT_EQ(view.entries()[0].pid, 101);
  EXPECT_EQ(view.entries()[0].connections, 7u);

  board.release(101);
  EXPECT_EQ(view.entries()[0].pid, 0);
  // A freed entry is reused before the board grows.
  EXPECT_EQ(view.claim(103), &view.entries()[0]);
  EXPECT_EQ(board.entries().size(), 2u);
  EXPECT_EQ(board.entries()[0].connections, 0u) << "a claimed entry starts from zero";
}

TEST(SharedText, CarriesAShortTextAcrossTheMappingAndCutsALongOne) {
  auto board = LoadBoard::create();
  auto* entry = board.claim(201);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->store_primary.load(), "");
  entry->store_primary.store("10.0.0.2:6379");
  entry->store_failovers = 1;
  auto view = LoadBoard::attach(::dup(board.fd()));
  EXPECT_EQ(view.entries()[0].store_primary.load(), "10.0.0.2:6379");
  entry->store_primary.store(std::string(100, 'x'));
  EXPECT_EQ(view.entries()[0].store_primary.load(), std::string(62, 'x'));
  board.release(201);
  EXPECT_EQ(view.claim(202)->store_primary.load(), "") << "a claimed entry starts empty";
  EXPECT_EQ(view.entries()[0].store_failovers, 0u);
}

}  // namespace
}  // namespace corral::ipc
