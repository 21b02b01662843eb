// The SQLite store's transactions, and group commit: the writes of one loop turn in one
// transaction, and its reads on one snapshot (sqlite_backend.hpp says why and what a
// client sees).
#include <sqlite3.h>

#include <fmt/format.h>

#include "store/sqlite_backend.hpp"
#include "store/sqlite_statements.hpp"

namespace corral::detail {

bool SqliteBackend::unchanged_since_snapshot() const {
  if (!commits_ || !snapshot_mark_) return false;
  const auto mark = commits_->mark();
  return mark && *mark == *snapshot_mark_;
}

void SqliteBackend::begin_reading() {
  // Taken before the snapshot: a commit in between is then seen as one next turn.
  const auto mark = commits_ ? commits_->mark() : std::nullopt;
  {
    Resetting reset{statements_->begin_read};
    statements_->begin_read.step();
  }
  transaction_ = Transaction::reading;
  ++snapshots_;
  end_turn_later();
  auto& data_version = statements_->data_version;
  Resetting reset{data_version};
  data_version.step();
  const auto version = data_version.column_int64(0);
  cache_fillable_ = version == data_version_;
  if (!cache_fillable_) {
    cache_.clear();
    data_version_ = version;
  }
  snapshot_mark_ = mark;
}

void SqliteBackend::end_reading() {
  transaction_ = Transaction::none;
  try {
    commit_transaction();
  } catch (const SqliteError&) {
    rollback_quietly();  // it only read: nothing is lost
  }
}

void SqliteBackend::begin_transaction() {
  Resetting reset{statements_->begin};
  statements_->begin.step();
}

void SqliteBackend::commit_transaction() {
  Resetting reset{statements_->commit};
  statements_->commit.step();
}

void SqliteBackend::rollback_quietly() {
  Resetting reset{statements_->rollback};
  try {
    statements_->rollback.step();
  } catch (const SqliteError&) {
    // The transaction is gone either way; the first error is the one to report.
  }
}

void SqliteBackend::end_turn_later() {
  if (end_scheduled_) return;
  end_scheduled_ = true;
  end_of_turn_(deferrals_.wrap([this] { end_turn(); }));
}

std::optional<StoreFailure> SqliteBackend::in_batch(const char* what, const std::function<void()>& step) {
  // Whatever happens below, the operation is answered at the end of the turn.
  end_turn_later();
  if (transaction_ != Transaction::writing) {
    // A snapshot cannot be turned into a write once another worker has written since
    // it was taken: the reads' transaction ends first.
    if (transaction_ == Transaction::reading) end_reading();
    transaction_ = Transaction::none;
    // Opening and checking the file, and waiting for the write lock, as any write does;
    // once in a turn: the writes after a wait that failed fail with it at once.
    if (begin_failed_) return begin_failed_;
    auto began = write_transaction_begin();
    if (!began.ok()) {
      begin_failed_ = began.failure();
      return begin_failed_;
    }
    transaction_ = Transaction::writing;
  }
  try {
    step();
    return std::nullopt;
  } catch (const SqliteError& error) {
    auto failure = failure_of(what, error);
    // The others did nothing wrong: their writes were rolled back with this one's.
    StoreFailure rolled_back{StoreFailure::Kind::unavailable,
                             fmt::format("store: the writes of a loop turn were rolled back: {}", failure.message),
                             std::chrono::seconds(1)};
    fail_batch(rolled_back);
    return failure;
  }
}

void SqliteBackend::fail_batch(const StoreFailure& failure) {
  if (transaction_ == Transaction::writing && !sqlite3_get_autocommit(db_)) rollback_quietly();
  transaction_ = Transaction::none;
  // Nothing of what the transaction held was written.
  for (auto& pending : batch_) {
    if (!pending.failed) pending.failed = failure;
  }
}

void SqliteBackend::end_turn() {
  end_scheduled_ = false;
  begin_failed_.reset();
  if (transaction_ == Transaction::unchanged) {
    transaction_ = Transaction::none;
  } else if (transaction_ == Transaction::reading) {
    end_reading();
  } else if (transaction_ == Transaction::writing) {
    try {
      commit_transaction();
      transaction_ = Transaction::none;
    } catch (const SqliteError& error) {
      fail_batch(failure_of("committing the writes of a loop turn", error));
    }
  }
  // Answered after the commit; an answer may start the next turn's transaction.
  auto answered = std::exchange(batch_, {});
  for (auto& pending : answered) pending.reply(pending.failed ? &*pending.failed : nullptr);
}

}  // namespace corral::detail
