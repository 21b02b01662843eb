// The SQLite store's file: opening it (WAL, the table), noticing that it was moved or
// replaced while open and opening it again, and the check at the supervisor's start.
#include <sqlite3.h>
#include <sys/stat.h>

#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/sqlite_backend.hpp"
#include "store/sqlite_statements.hpp"

namespace corral::detail {
namespace {

constexpr const char* schema =
    "CREATE TABLE IF NOT EXISTS corral_kv ("
    " key BLOB PRIMARY KEY,"
    " value BLOB NOT NULL,"
    " expires_at INTEGER"  // ms since the Unix epoch; NULL: never
    ") WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS corral_kv_expiry ON corral_kv (expires_at) WHERE expires_at IS NOT NULL;";

// SQLite's own busy handler sleeps 1, 2, 5, 10 ... up to 100 ms between tries for a
// lock. Under writes from several workers a write lock is held for microseconds, yet
// a worker could wait hundreds of milliseconds (p99 651 ms for POST /visits in
// bench/run). This one tries again after 10 us, doubling to 1 ms, until the timeout.
int wait_for_lock(void* context, int attempts) {
  auto& wait = *static_cast<BusyWait*>(context);
  const auto now = std::chrono::steady_clock::now();
  if (attempts == 0) wait.since = now;
  if (now - wait.since >= wait.timeout) return 0;
  std::this_thread::sleep_for(std::min(std::chrono::microseconds(10 << std::min(attempts, 7)),
                                       std::chrono::microseconds(1000)));
  return 1;
}

sqlite3* open_database(const std::string& path, BusyWait& busy_wait) {
  sqlite3* db = nullptr;
  const int code = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
  if (code != SQLITE_OK) {
    const std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    sqlite3_close_v2(db);
    throw SqliteError(code, "sqlite3_open_v2 failed: " + message);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_handler(db, wait_for_lock, &busy_wait);
  return db;
}

// The advice an administrator needs for a store file that cannot be used.
std::string store_file_error(const std::string& path, const std::string& cause, int code) {
  std::string advice;
  switch (code & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      advice = "it is not a usable SQLite database: stop the service, move the file (and its -wal and -shm files) "
               "away, and start again to create an empty store, or restore it from a backup";
      break;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      advice = "the service's user cannot write it or its directory: fix the owner and mode (under systemd, "
               "StateDirectory= makes the directory the service's), or point --state-dir elsewhere";
      break;
    default:
      advice = "check the disk and the file, then start again";
  }
  return fmt::format("the store file {} cannot be used: {}; {}", path, cause, advice);
}

}  // namespace

SqliteBackend::SqliteBackend(std::string path, std::chrono::milliseconds lock_timeout, WallClock now_ms,
                             EndOfTurn end_of_turn)
    : path_(std::move(path)),
      now_ms_(std::move(now_ms)),
      busy_wait_(std::make_unique<BusyWait>()),
      end_of_turn_(std::move(end_of_turn)) {
  busy_wait_->timeout = lock_timeout;
  try {
    open();
  } catch (const SqliteError& error) {
    throw std::runtime_error(store_file_error(path_, error.what(), error.code()));
  }
}

SqliteBackend::~SqliteBackend() {
  // What this turn wrote is committed and answered: the worker is exiting, and what
  // handled the answers is still alive (WorkerStore destroys its backend first).
  if (end_scheduled_) end_turn();
  close();
}

void SqliteBackend::open() {
  try {
    db_ = open_database(path_, *busy_wait_);
    struct stat status {};
    opened_file_ = ::stat(path_.c_str(), &status) == 0 ? std::pair(status.st_dev, status.st_ino) : std::pair<dev_t, ino_t>();
    execute(db_, "PRAGMA journal_mode = WAL", "switching to write-ahead logging");
    execute(db_, "PRAGMA synchronous = NORMAL", "setting synchronous");
    execute(db_, schema, "creating the store's table");
    statements_ = std::make_unique<Statements>(db_);
    commits_.emplace(db_);  // after the schema's statements, whose reads mapped the wal-index
    // The write-ahead log exists now (the schema was written through it).
    opened_log_ = ::stat((path_ + "-wal").c_str(), &status) == 0 ? std::pair(status.st_dev, status.st_ino)
                                                                 : std::pair<dev_t, ino_t>();
  } catch (...) {
    close();
    throw;
  }
}

void SqliteBackend::close() {
  if (transaction_ != Transaction::writing) transaction_ = Transaction::none;  // closing ends a turn's reads
  // What another connection may write meanwhile is not seen by the next one's data_version.
  cache_.clear();
  data_version_.reset();
  commits_.reset();
  snapshot_mark_.reset();
  statements_.reset();
  sqlite3_close_v2(db_);
  db_ = nullptr;
}

bool SqliteBackend::file_was_moved() {
  const auto now = now_ms_();
  if (now >= last_file_check_ms_ && now - last_file_check_ms_ < 1000) return false;
  last_file_check_ms_ = now;
  struct stat status {};
  return ::stat(path_.c_str(), &status) != 0 || std::pair(status.st_dev, status.st_ino) != opened_file_;
}

void SqliteBackend::reopen() {
  // The old file's write-ahead log, still at the path, would be read as the new file's:
  // SQLite's "mispaired" log, which corrupts it. Until it is moved or deleted with its
  // file, the store answers 503 and says why.
  struct stat status {};
  const auto log = path_ + "-wal";
  if (opened_log_ != std::pair<dev_t, ino_t>() && ::stat(log.c_str(), &status) == 0 &&
      std::pair(status.st_dev, status.st_ino) == opened_log_) {
    throw SqliteError(SQLITE_CANTOPEN,
                      fmt::format("{} was moved or replaced while open, but {} (the old file's log) is still beside it; "
                                  "move or delete {} and {}-shm with the old file, and the new one is opened then",
                                  path_, log, log, path_));
  }
  spdlog::warn("store: {} was moved or replaced while open; opening the file at that path again", path_);
  // The last connection to close deletes the log and its index by name, and those names
  // may be the new file's by now (another worker reopened first): kept, this one time.
  int persist = 1;
  sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  close();
  open();
  moved_ = false;
}

void check_sqlite_store(const std::string& path) {
  sqlite3* db = nullptr;
  BusyWait busy_wait{std::chrono::milliseconds(5000), {}};
  try {
    db = open_database(path, busy_wait);
    if (sqlite3_db_readonly(db, "main") == 1) {
      throw SqliteError(SQLITE_READONLY, "sqlite3_db_readonly: the file opened read-only");
    }
    execute(db, "PRAGMA journal_mode = WAL", "switching to write-ahead logging");
    execute(db, schema, "creating the store's table");
    // A write proves the file, its directory (for -wal and -shm) and the disk take one.
    execute(db, "BEGIN IMMEDIATE; DELETE FROM corral_kv WHERE key = x''; COMMIT", "a test write");
    sqlite3_close_v2(db);
  } catch (const SqliteError& error) {
    sqlite3_close_v2(db);
    throw std::runtime_error(store_file_error(path, error.what(), error.code()));
  }
}

}  // namespace corral::detail
