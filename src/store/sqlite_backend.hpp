#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "event/deferral_guard.hpp"
#include "store/read_cache.hpp"
#include "store/wal_commit_watch.hpp"
#include "store/store_backend.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace corral::detail {

class SqliteError;

// How long a connection waits for another's lock, and since when it has been waiting.
struct BusyWait {
  std::chrono::milliseconds timeout{1000};
  std::chrono::steady_clock::time_point since;
};

// The embedded store: one SQLite file in the state directory, shared by every worker,
// each with its own connection opened after it started (a connection must never cross
// a fork). WAL lets readers run while one worker writes; writes take the lock up front
// (BEGIN IMMEDIATE) and wait up to the store timeout for it, so a transaction never fails
// half-way on a lock upgrade. synchronous=NORMAL: a committed write survives any
// process crash; on power loss the last commits before the WAL's next checkpoint may
// be lost (docs/reliability.md).
//
// Group commit, in a worker: the writes that arrive in one turn of its event loop share
// one transaction, committed when the turn's events have been handled, and each is
// answered only after that commit (a failed commit fails them all: 503). One
// transaction instead of one per write takes the lock, writes the log and syncs once
// for all of them. Reads answer at once, and the reads of one turn share one snapshot
// (one read lock); once a write transaction of the turn is open, reads run inside it
// and are answered after its commit too, so that no answer shows a write that could
// still be rolled back.
//
// Read cache, in a worker: a key read in a turn's snapshot is remembered (ReadCache),
// and read again from there while the file is unchanged. Each snapshot begins with
// PRAGMA data_version, which changes whenever another connection (another worker, the
// purge task, the sqlite3 tool) has committed: the cache is then cleared. The worker's
// own writes forget their key. So a read answers what a query in that snapshot would,
// and a visitor's session costs one query per change instead of one per request. It is
// filled only in a turn that found the file unchanged: under other workers' steady
// writes it stays empty rather than being refilled and cleared every turn. A turn that
// finds the wal-index header as it was before the last snapshot (WalCommitWatch: no
// commit since) answers its cached reads without a snapshot at all; a miss takes one,
// which may find a commit made after the turn's first read. Every read sees each commit
// made before its turn began; only the queries of a turn share one snapshot.
class SqliteBackend final : public StoreBackend {
 public:
  using WallClock = std::function<std::int64_t()>;  // ms since the Unix epoch
  // Runs a function once the loop has handled this turn's events (EventLoop::defer).
  using EndOfTurn = std::function<void(std::function<void()>)>;

  // Opens (or creates) the file; throws std::runtime_error naming the file and what to
  // do if it is not a database or cannot be written. Without `end_of_turn` (the purge
  // task's own connection, tests), every write commits and answers before it returns.
  SqliteBackend(std::string path, std::chrono::milliseconds lock_timeout, WallClock now_ms,
                EndOfTurn end_of_turn = {});
  ~SqliteBackend() override;

  bool answers_inline(Access access) const override {
    return access == Access::read ? transaction_ != Transaction::writing : !end_of_turn_;
  }
  StoreHealth health() const override { return healthy_ ? StoreHealth::up : StoreHealth::down; }

  void get(KeySpace space, std::string_view key, Callback<std::optional<std::string>> done) override;
  void set(KeySpace space, std::string_view key, std::string_view value, std::optional<std::chrono::milliseconds> ttl,
           Callback<Done> done) override;
  void replace(KeySpace space, std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
               Callback<bool> done) override;
  void erase(KeySpace space, std::string_view key, Callback<Done> done) override;
  void increment(std::string_view key, std::int64_t by, Callback<std::int64_t> done) override;

  // Deletes up to 1,000 expired rows per call, on the purge task's own connection (one
  // without `end_of_turn`; std::logic_error on a worker's).
  bool purge_expired() override;
  // The rows the last purge deleted.
  std::int64_t purged() const { return purged_; }
  // Why the last purge failed (naming the SQLite call); empty if it did not.
  const std::string& purge_error() const { return purge_error_; }

  const std::string& path() const { return path_; }
  // Reads answered from the read cache since the store was opened.
  std::uint64_t cached_reads() const { return cached_reads_; }
  // Read snapshots begun since the store was opened (a turn that found the file
  // unchanged and answered only from the cache began none).
  std::uint64_t snapshots() const { return snapshots_; }

 private:
  struct Statements;
  // Opens the file at path_ (creating it and its table); throws SqliteError.
  void open();
  void close();
  void reopen();
  // Whether the file at path_ is no longer the one open; looks at most once a second.
  bool file_was_moved();
  template <class T, class Body>
  Outcome<T> attempt(const char* what, Body body);
  template <class T, class Body>
  Outcome<T> write(const char* what, Body body);
  void begin_transaction();  // BEGIN IMMEDIATE; throws SqliteError
  // The file opened and checked, then BEGIN IMMEDIATE.
  Outcome<Done> write_transaction_begin();
  void commit_transaction();  // throws SqliteError
  void rollback_quietly();
  // What an SqliteError means for the caller, noting the store's health.
  StoreFailure failure_of(const char* what, const SqliteError& error);
  // An operation, answered inline or through this turn's transaction.
  template <class T, class Body>
  void run(Access access, const char* what, Body body, Callback<T> done);

  // Group commit (sqlite_group_commit.cpp).
  // This turn's: none yet; unchanged (no commit since the last snapshot: cached reads
  // need none); a snapshot; the writes' transaction.
  enum class Transaction { none, unchanged, reading, writing };
  // Whether no connection has committed since the last snapshot began.
  bool unchanged_since_snapshot() const;
  // BEGIN and the snapshot, clearing the read cache if another connection has
  // committed since the last one; throws SqliteError.
  void begin_reading();
  void end_reading();
  void end_turn_later();
  struct Pending {
    std::function<void(const StoreFailure*)> reply;  // the operation's outcome, or the failure
    std::optional<StoreFailure> failed;
  };
  // Runs `step` in this turn's transaction, begun (and its commit scheduled) if none is
  // open; a failure of the step or the begin is returned, and an SqliteError rolls the
  // transaction back, failing what it held.
  std::optional<StoreFailure> in_batch(const char* what, const std::function<void()>& step);
  void fail_batch(const StoreFailure& failure);
  // Ends the reads' snapshot, or commits the writes and then answers them.
  void end_turn();

  std::string path_;
  WallClock now_ms_;
  std::unique_ptr<BusyWait> busy_wait_;  // where SQLite's busy handler finds its state
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> statements_;
  bool healthy_ = true;
  std::pair<dev_t, ino_t> opened_file_{};
  std::pair<dev_t, ino_t> opened_log_{};  // its -wal, as opened
  bool moved_ = false;                    // the file at the path is another; not yet reopened
  std::int64_t last_file_check_ms_ = 0;
  std::int64_t purged_ = 0;
  std::string purge_error_;
  EndOfTurn end_of_turn_;
  std::string key_buffer_;  // the key of the operation being run
  Transaction transaction_ = Transaction::none;
  std::optional<StoreFailure> begin_failed_;  // this turn's
  bool end_scheduled_ = false;
  std::vector<Pending> batch_;
  ReadCache cache_{4096, 4 << 20};
  std::optional<std::int64_t> data_version_;  // at this connection's last snapshot
  std::optional<WalCommitWatch> commits_;      // of the open file
  std::optional<WalCommitWatch::Mark> snapshot_mark_;  // seen just before the last snapshot
  std::uint64_t snapshots_ = 0;
  bool cache_fillable_ = false;                 // this turn's snapshot found the file unchanged
  std::uint64_t cached_reads_ = 0;
  DeferralGuard deferrals_;  // the scheduled end of the turn
};

// Checks at the supervisor's start that the store file can be opened, is a database and
// is writable, creating it and its table if needed; throws std::runtime_error naming
// the file and what to do. Workers then open it knowing it is sound.
void check_sqlite_store(const std::string& path);

}  // namespace corral::detail
