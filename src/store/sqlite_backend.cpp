#include "store/sqlite_backend.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <charconv>
#include <limits>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/sqlite_statement.hpp"

namespace corral::detail {
namespace {

constexpr const char* schema =
    "CREATE TABLE IF NOT EXISTS corral_kv ("
    " key BLOB PRIMARY KEY,"
    " value BLOB NOT NULL,"
    " expires_at INTEGER"  // ms since the Unix epoch; NULL: never
    ") WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS corral_kv_expiry ON corral_kv (expires_at) WHERE expires_at IS NOT NULL;";

bool unavailable(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
      return true;
    default:
      return false;
  }
}

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

// Data keys and session ids in one table, apart: no data key can name a session.
std::string stored_key(KeySpace space, std::string_view key) {
  std::string stored(space == KeySpace::data ? "d:" : "s:");
  stored += key;
  return stored;
}

// now + ttl, without overflowing for an absurd ttl.
std::int64_t expiry(std::int64_t now_ms, std::chrono::milliseconds ttl) {
  std::int64_t at = 0;
  return __builtin_add_overflow(now_ms, static_cast<std::int64_t>(ttl.count()), &at)
             ? std::numeric_limits<std::int64_t>::max()
             : at;
}

}  // namespace

struct SqliteBackend::Statements {
  explicit Statements(sqlite3* db)
      : select(db, "SELECT value FROM corral_kv WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)"),
        upsert(db,
               "INSERT INTO corral_kv (key, value, expires_at) VALUES (?1, ?2, ?3) "
               "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"),
        update_live(db,
                    "UPDATE corral_kv SET value = ?2, expires_at = ?3 "
                    "WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?4)"),
        // A counter keeps its key's expiry; one that had expired starts again without.
        count(db,
              "INSERT INTO corral_kv (key, value, expires_at) VALUES (?1, ?2, NULL) "
              "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = "
              "CASE WHEN expires_at IS NOT NULL AND expires_at <= ?3 THEN NULL ELSE expires_at END"),
        erase(db, "DELETE FROM corral_kv WHERE key = ?1"),
        purge(db,
              "DELETE FROM corral_kv WHERE key IN "
              "(SELECT key FROM corral_kv WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT 1000)"),
        begin(db, "BEGIN IMMEDIATE"),
        begin_read(db, "BEGIN"),
        commit(db, "COMMIT"),
        rollback(db, "ROLLBACK") {}
  Statement select;
  Statement upsert;
  Statement update_live;
  Statement count;
  Statement erase;
  Statement purge;
  Statement begin;
  Statement begin_read;
  Statement commit;
  Statement rollback;
};

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
    // The write-ahead log exists now (the schema was written through it).
    opened_log_ = ::stat((path_ + "-wal").c_str(), &status) == 0 ? std::pair(status.st_dev, status.st_ino)
                                                                 : std::pair<dev_t, ino_t>();
  } catch (...) {
    close();
    throw;
  }
}

void SqliteBackend::close() {
  if (transaction_ == Transaction::reading) transaction_ = Transaction::none;  // closing ends it
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

template <class T, class Body>
Outcome<T> SqliteBackend::attempt(const char* what, Body body) {
  try {
    // The file at the path is what counts: one moved away or replaced (a restore)
    // while open would go on taking writes that no one reads (in WAL mode SQLite does
    // not notice; otherwise it refuses them with SQLITE_READONLY_DBMOVED). Looked at
    // once a second, and at once when closed by a reopening that failed.
    if (db_ == nullptr) {
      open();
    } else if (moved_ || file_was_moved()) {
      moved_ = true;
      reopen();
    }
    Outcome<T> outcome = [&] {
      try {
        return body();
      } catch (const SqliteError& error) {
        if (error.code() != SQLITE_READONLY_DBMOVED) throw;
        moved_ = true;
        reopen();
        return body();
      }
    }();
    if (!healthy_) spdlog::info("store: {} answers again", path_);
    healthy_ = true;
    return outcome;
  } catch (const SqliteError& error) {
    return failure_of(what, error);
  }
}

StoreFailure SqliteBackend::failure_of(const char* what, const SqliteError& error) {
  StoreFailure failure;
  failure.message = fmt::format("store: {} on {}: {}", what, path_, error.what());
  if (!unavailable(error.code())) {
    failure.kind = StoreFailure::Kind::misuse;
    return failure;
  }
  // Logged when the store goes down, not for every request that finds it down.
  if (healthy_) spdlog::error("{}; answering 503 until it works again", failure.message);
  healthy_ = false;
  return failure;
}

template <class T, class Body>
void SqliteBackend::run(Access access, const char* what, Body body, Callback<T> done) {
  if (!end_of_turn_) {
    done(access == Access::read ? attempt<T>(what, body) : write<T>(what, body));
    return;
  }
  if (access == Access::read && transaction_ != Transaction::writing) {
    auto outcome = attempt<T>(what, [&]() -> Outcome<T> {
      if (transaction_ == Transaction::none) begin_reading();
      return body();
    });
    if (!outcome.ok() && transaction_ == Transaction::reading) end_reading();
    done(std::move(outcome));
    return;
  }
  std::optional<Outcome<T>> outcome;
  auto failed = in_batch(what, [&] { outcome.emplace(body()); });
  batch_.push_back(Pending{[done = std::move(done), outcome = std::move(outcome)](const StoreFailure* failure) mutable {
                             if (failure != nullptr) {
                               done(*failure);
                             } else {
                               done(std::move(*outcome));
                             }
                           },
                           std::move(failed)});
}

template <class T, class Body>
Outcome<T> SqliteBackend::write(const char* what, Body body) {
  return attempt<T>(what, [&]() -> Outcome<T> {
    begin_transaction();
    try {
      Outcome<T> outcome = body();
      commit_transaction();
      return outcome;
    } catch (...) {
      if (!sqlite3_get_autocommit(db_)) rollback_quietly();
      throw;
    }
  });
}

void SqliteBackend::begin_reading() {
  Resetting reset{statements_->begin_read};
  statements_->begin_read.step();
  transaction_ = Transaction::reading;
  end_turn_later();
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

Outcome<Done> SqliteBackend::write_transaction_begin() {
  return attempt<Done>("beginning a write transaction", [&]() -> Outcome<Done> {
    begin_transaction();
    return Done{};
  });
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

void SqliteBackend::get(KeySpace space, std::string_view key, Callback<std::optional<std::string>> done) {
  run<std::optional<std::string>>(Access::read, "reading a key", [&]() -> Outcome<std::optional<std::string>> {
    const auto stored = stored_key(space, key);
    auto& select = statements_->select;
    Resetting reset{select};
    select.bind(1, std::string_view(stored)).bind(2, now_ms_());
    if (!select.step()) return std::optional<std::string>();
    return std::optional<std::string>(select.column_bytes(0));
  }, std::move(done));
}

void SqliteBackend::set(KeySpace space, std::string_view key, std::string_view value,
                        std::optional<std::chrono::milliseconds> ttl, Callback<Done> done) {
  run<Done>(Access::write, "writing a key", [&]() -> Outcome<Done> {
    const auto stored = stored_key(space, key);
    auto& upsert = statements_->upsert;
    Resetting reset{upsert};
    upsert.bind(1, std::string_view(stored)).bind(2, value);
    if (ttl) {
      upsert.bind(3, expiry(now_ms_(), *ttl));
    } else {
      upsert.bind_null(3);
    }
    upsert.step();
    return Done{};
  }, std::move(done));
}

void SqliteBackend::replace(KeySpace space, std::string_view key, std::string_view value,
                            std::chrono::milliseconds ttl, Callback<bool> done) {
  run<bool>(Access::write, "rewriting a key", [&]() -> Outcome<bool> {
    const auto stored = stored_key(space, key);
    const auto now = now_ms_();
    auto& update = statements_->update_live;
    Resetting reset{update};
    update.bind(1, std::string_view(stored)).bind(2, value).bind(3, expiry(now, ttl)).bind(4, now).step();
    return sqlite3_changes(db_) > 0;
  }, std::move(done));
}

void SqliteBackend::erase(KeySpace space, std::string_view key, Callback<Done> done) {
  run<Done>(Access::write, "erasing a key", [&]() -> Outcome<Done> {
    const auto stored = stored_key(space, key);
    auto& erase = statements_->erase;
    Resetting reset{erase};
    erase.bind(1, std::string_view(stored)).step();
    return Done{};
  }, std::move(done));
}

void SqliteBackend::increment(std::string_view key, std::int64_t by, Callback<std::int64_t> done) {
  run<std::int64_t>(Access::write, "incrementing a counter", [&]() -> Outcome<std::int64_t> {
    // Read and written in one IMMEDIATE transaction, so no other worker writes between.
    const auto stored = stored_key(KeySpace::data, key);
    const auto now = now_ms_();
    std::int64_t current = 0;
    {
      auto& select = statements_->select;
      Resetting reset{select};
      select.bind(1, std::string_view(stored)).bind(2, now);
      if (select.step()) {
        const auto text = select.column_bytes(0);
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), current);
        if (error != std::errc{} || end != text.data() + text.size()) {
          return StoreFailure{StoreFailure::Kind::misuse,
                              fmt::format("store: incrementing {:?}: its value is not an integer", key), {}};
        }
      }
    }
    std::int64_t next = 0;
    if (__builtin_add_overflow(current, by, &next)) {
      return StoreFailure{StoreFailure::Kind::misuse, fmt::format("store: incrementing {:?} overflows", key), {}};
    }
    const auto text = std::to_string(next);
    auto& count = statements_->count;
    Resetting reset{count};
    count.bind(1, std::string_view(stored)).bind(2, std::string_view(text)).bind(3, now).step();
    return next;
  }, std::move(done));
}

bool SqliteBackend::purge_expired() {
  auto outcome = write<std::int64_t>("purging expired keys", [&]() -> Outcome<std::int64_t> {
    auto& purge = statements_->purge;
    Resetting reset{purge};
    purge.bind(1, now_ms_()).step();
    return static_cast<std::int64_t>(sqlite3_changes(db_));
  });
  purged_ = outcome.ok() ? outcome.value() : 0;
  purge_error_ = outcome.ok() ? std::string{} : outcome.failure().message;
  if (purged_ > 0) spdlog::debug("store: purged {} expired keys", purged_);
  return purged_ >= 1000;
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
