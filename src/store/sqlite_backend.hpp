#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "store/store_backend.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace corral::detail {

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
class SqliteBackend final : public StoreBackend {
 public:
  using WallClock = std::function<std::int64_t()>;  // ms since the Unix epoch

  // Opens (or creates) the file; throws std::runtime_error naming the file and what to
  // do if it is not a database or cannot be written.
  SqliteBackend(std::string path, std::chrono::milliseconds lock_timeout, WallClock now_ms);
  ~SqliteBackend() override;

  bool answers_inline() const override { return true; }
  StoreHealth health() const override { return healthy_ ? StoreHealth::up : StoreHealth::down; }

  void get(KeySpace space, std::string_view key, Callback<std::optional<std::string>> done) override;
  void set(KeySpace space, std::string_view key, std::string_view value, std::optional<std::chrono::milliseconds> ttl,
           Callback<Done> done) override;
  void replace(KeySpace space, std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
               Callback<bool> done) override;
  void erase(KeySpace space, std::string_view key, Callback<Done> done) override;
  void increment(std::string_view key, std::int64_t by, Callback<std::int64_t> done) override;

  // Deletes up to 1,000 expired rows per call (the purge task's own connection).
  bool purge_expired() override;
  // The rows the last purge deleted.
  std::int64_t purged() const { return purged_; }
  // Why the last purge failed (naming the SQLite call); empty if it did not.
  const std::string& purge_error() const { return purge_error_; }

  const std::string& path() const { return path_; }

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
};

// Checks at the supervisor's start that the store file can be opened, is a database and
// is writable, creating it and its table if needed; throws std::runtime_error naming
// the file and what to do. Workers then open it knowing it is sound.
void check_sqlite_store(const std::string& path);

}  // namespace corral::detail
