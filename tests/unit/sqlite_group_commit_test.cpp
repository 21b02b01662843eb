// Group commit in the SQLite store: the writes of one loop turn share one transaction,
// committed at the end of the turn, and nothing is answered before that commit. The
// "loop" here is a list of end-of-turn functions the test runs itself.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/sqlite_backend.hpp"
#include "support/temp_dir.hpp"

namespace corral::detail {
namespace {

using namespace std::chrono_literals;

class GroupCommit : public ::testing::Test {
 protected:
  GroupCommit()
      : path_(directory_ / "store.sqlite3"),
        backend_(path_, 50ms, [this] { return now_ms_; },
                 [this](std::function<void()> work) { end_of_turn_.push_back(std::move(work)); }) {}

  // The end of the loop turn: what the backend left for it (which may leave more).
  void end_turn() {
    while (!end_of_turn_.empty()) {
      auto work = std::move(end_of_turn_);
      end_of_turn_.clear();
      for (auto& item : work) item();
    }
  }
  // A counter's value as another worker's connection reads it.
  std::optional<std::int64_t> seen_elsewhere(const std::string& key) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* select = nullptr;
    sqlite3_prepare_v2(db, "SELECT value FROM corral_kv WHERE key = ?1", -1, &select, nullptr);
    const auto stored = "d:" + key;
    sqlite3_bind_blob(select, 1, stored.data(), static_cast<int>(stored.size()), SQLITE_STATIC);
    std::optional<std::int64_t> value;
    if (sqlite3_step(select) == SQLITE_ROW) value = sqlite3_column_int64(select, 0);
    sqlite3_finalize(select);
    sqlite3_close(db);
    return value;
  }

  // A key's value as one loop turn reads it (the turn then ends).
  std::optional<std::string> read_in_a_turn(const std::string& key, KeySpace space = KeySpace::session) {
    std::optional<std::string> value;
    backend_.get(space, key, [&](Outcome<std::optional<std::string>> outcome) { value = outcome.value(); });
    end_turn();
    return value;
  }
  // Another worker's write: a connection of its own, committed at once.
  void written_elsewhere(const std::string& key, const std::string& value) {
    SqliteBackend other(path_, 50ms, [this] { return now_ms_; });
    other.set(KeySpace::session, key, value, std::nullopt, [](Outcome<Done> outcome) { ASSERT_TRUE(outcome.ok()); });
  }

  test::TempDir directory_;
  std::string path_;
  std::int64_t now_ms_ = 1'000;
  std::vector<std::function<void()>> end_of_turn_;
  SqliteBackend backend_;
};

TEST_F(GroupCommit, WritesOfOneTurnAreAnsweredAfterTheirSharedCommitAndCountExactly) {
  EXPECT_FALSE(backend_.answers_inline(Access::write));
  std::vector<std::int64_t> answered;
  for (int i = 0; i < 50; ++i) {
    backend_.increment("visits", 1, [&](Outcome<std::int64_t> outcome) { answered.push_back(outcome.value()); });
  }
  EXPECT_TRUE(answered.empty()) << "answered before the commit";
  EXPECT_EQ(seen_elsewhere("visits"), std::nullopt) << "committed before the end of the turn";
  end_turn();
  ASSERT_EQ(answered.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(answered[i], i + 1);
  EXPECT_EQ(seen_elsewhere("visits"), 50);
}

TEST_F(GroupCommit, AReadJoinsAnOpenWriteAndIsAnsweredAfterItsCommitOtherwiseAtOnce) {
  std::optional<std::optional<std::string>> read;
  EXPECT_TRUE(backend_.answers_inline(Access::read));
  backend_.get(KeySpace::data, "visits", [&](auto outcome) { read = outcome.value(); });
  ASSERT_TRUE(read) << "a read with no write open is answered at once";
  EXPECT_EQ(*read, std::nullopt);
  read.reset();
  backend_.increment("visits", 5, [](auto) {});
  EXPECT_FALSE(backend_.answers_inline(Access::read));
  backend_.get(KeySpace::data, "visits", [&](auto outcome) { read = outcome.value(); });
  EXPECT_FALSE(read) << "it would show a write that is not committed yet";
  end_turn();
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, std::optional<std::string>("5"));
  EXPECT_TRUE(backend_.answers_inline(Access::read));
}

TEST_F(GroupCommit, AWrongOperationFailsAloneAndTheOthersCommit) {
  backend_.set(KeySpace::data, "name", "alice", std::nullopt, [](auto) {});
  end_turn();
  std::vector<std::string> outcomes;
  auto note = [&](Outcome<std::int64_t> outcome) {
    outcomes.push_back(outcome.ok() ? std::to_string(outcome.value())
                                    : outcome.failure().kind == StoreFailure::Kind::misuse ? "misuse" : "unavailable");
  };
  backend_.increment("visits", 1, note);
  backend_.increment("name", 1, note);
  backend_.increment("visits", 1, note);
  end_turn();
  EXPECT_EQ(outcomes, (std::vector<std::string>{"1", "misuse", "2"}));
  EXPECT_EQ(seen_elsewhere("visits"), 2);
}

TEST_F(GroupCommit, WhenTheLockCannotBeHadEveryWriteOfTheTurnAnswers503AndNothingIsWritten) {
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  int unavailable = 0;
  for (int i = 0; i < 3; ++i) {
    backend_.increment("visits", 1, [&](Outcome<std::int64_t> outcome) {
      unavailable += !outcome.ok() && outcome.failure().kind == StoreFailure::Kind::unavailable;
    });
  }
  EXPECT_EQ(unavailable, 0) << "answered inside the turn";
  end_turn();
  EXPECT_EQ(unavailable, 3);
  ASSERT_EQ(sqlite3_exec(holder, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(holder);
  std::optional<std::int64_t> next;
  backend_.increment("visits", 1, [&](Outcome<std::int64_t> outcome) { next = outcome.value(); });
  end_turn();
  EXPECT_EQ(next, 1) << "none of the failed writes counted";
}

TEST_F(GroupCommit, WhatAnAnswerWritesGoesIntoTheNextCommitAndAClosingStoreCommitsWhatWaits) {
  std::optional<std::int64_t> second;
  backend_.increment("visits", 1, [&](Outcome<std::int64_t>) {
    // A continuation's next store call, made from the answer.
    backend_.increment("visits", 1, [&](Outcome<std::int64_t> outcome) { second = outcome.value(); });
  });
  end_turn();
  EXPECT_EQ(second, 2);
  std::optional<std::int64_t> last;
  {
    SqliteBackend closing(path_, 50ms, [] { return std::int64_t{1'000}; },
                          [](std::function<void()>) {});  // a loop that never gets to its end
    closing.increment("visits", 1, [&](Outcome<std::int64_t> outcome) { last = outcome.value(); });
    EXPECT_FALSE(last);
  }
  EXPECT_EQ(last, 3);
  EXPECT_EQ(seen_elsewhere("visits"), 3);
}

TEST_F(GroupCommit, AKeyReadAgainComesFromTheCacheUntilAnotherConnectionCommits) {
  written_elsewhere("id", "alice");
  EXPECT_EQ(read_in_a_turn("id"), "alice");  // the first snapshot: the file's version is new
  EXPECT_EQ(read_in_a_turn("id"), "alice");  // unchanged since: remembered
  EXPECT_EQ(backend_.cached_reads(), 0u);
  EXPECT_EQ(read_in_a_turn("id"), "alice");
  EXPECT_EQ(read_in_a_turn("id"), "alice");
  EXPECT_EQ(backend_.cached_reads(), 2u);

  written_elsewhere("id", "bob");
  EXPECT_EQ(read_in_a_turn("id"), "bob") << "another worker's commit clears the cache";
  EXPECT_EQ(backend_.cached_reads(), 2u);
  EXPECT_EQ(read_in_a_turn("id"), "bob");
  EXPECT_EQ(read_in_a_turn("id"), "bob");
  EXPECT_EQ(backend_.cached_reads(), 3u);
}

TEST_F(GroupCommit, ATurnThatFindsTheFileUncommittedSinceItsLastSnapshotTakesNone) {
  written_elsewhere("id", "alice");
  for (int turn = 0; turn < 3; ++turn) read_in_a_turn("id");
  ASSERT_EQ(backend_.cached_reads(), 1u);
  const auto snapshots = backend_.snapshots();
  EXPECT_EQ(read_in_a_turn("id"), "alice");
  EXPECT_EQ(read_in_a_turn("id"), "alice");
  EXPECT_EQ(backend_.snapshots(), snapshots) << "answered from the cache without a read lock";

  EXPECT_EQ(read_in_a_turn("unknown"), std::nullopt);
  EXPECT_EQ(backend_.snapshots(), snapshots + 1) << "a key not in the cache is queried in a snapshot";

  written_elsewhere("id", "bob");
  EXPECT_EQ(read_in_a_turn("id"), "bob") << "another connection's commit is seen the next turn";
  EXPECT_EQ(backend_.snapshots(), snapshots + 2);

  // A checkpoint that restarts the log, then a commit: the header is new again.
  {
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(other);
  }
  EXPECT_EQ(read_in_a_turn("id"), "bob");
  written_elsewhere("id", "dave");
  EXPECT_EQ(read_in_a_turn("id"), "dave") << "a commit after a restarted log";

  // The worker's own commit changes the file too: one snapshot, then none again.
  backend_.set(KeySpace::session, "id", "carol", std::nullopt, [](auto) {});
  end_turn();
  EXPECT_EQ(read_in_a_turn("id"), "carol");
  EXPECT_EQ(read_in_a_turn("id"), "carol");
  const auto after_own_write = backend_.snapshots();
  EXPECT_EQ(read_in_a_turn("id"), "carol");
  EXPECT_EQ(backend_.snapshots(), after_own_write);
}

TEST_F(GroupCommit, AWorkersOwnWritesAreReadBackNotWhatItHadCached) {
  written_elsewhere("id", "alice");
  for (int turn = 0; turn < 3; ++turn) read_in_a_turn("id");
  ASSERT_EQ(backend_.cached_reads(), 1u);

  // Each read below is remembered (the worker's own commits leave data_version alone).
  backend_.replace(KeySpace::session, "id", "bob", 1h, [](Outcome<bool> outcome) { EXPECT_TRUE(outcome.value()); });
  end_turn();
  EXPECT_EQ(read_in_a_turn("id"), "bob");
  backend_.set(KeySpace::session, "id", "carol", std::nullopt, [](auto) {});
  end_turn();
  EXPECT_EQ(read_in_a_turn("id"), "carol");
  backend_.erase(KeySpace::session, "id", [](auto) {});
  end_turn();
  EXPECT_EQ(read_in_a_turn("id"), std::nullopt);
  EXPECT_EQ(backend_.cached_reads(), 1u);

  backend_.increment("visits", 1, [](auto) {});
  end_turn();
  EXPECT_EQ(read_in_a_turn("visits", KeySpace::data), "1");
  backend_.increment("visits", 1, [](auto) {});
  end_turn();
  EXPECT_EQ(read_in_a_turn("visits", KeySpace::data), "2");
}

TEST_F(GroupCommit, ACachedKeyExpiresAtItsTime) {
  backend_.set(KeySpace::session, "id", "alice", 10s, [](auto) {});  // expires at 11,000 ms
  end_turn();
  for (int turn = 0; turn < 3; ++turn) read_in_a_turn("id");
  ASSERT_EQ(backend_.cached_reads(), 1u);
  now_ms_ = 10'999;
  EXPECT_EQ(read_in_a_turn("id"), "alice");
  EXPECT_EQ(backend_.cached_reads(), 2u);
  now_ms_ = 11'000;
  EXPECT_EQ(read_in_a_turn("id"), std::nullopt);
}

}  // namespace
}  // namespace corral::detail
