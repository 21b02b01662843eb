// The SQLite store's operations, each answered inline or through the loop turn's
// transaction; sqlite_file.cpp has the file, sqlite_group_commit.cpp the transactions.
#include "store/sqlite_backend.hpp"

#include <sqlite3.h>

#include <charconv>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/sqlite_statement.hpp"
#include "store/sqlite_statements.hpp"

namespace corral::detail {
namespace {

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

// Data keys and session ids in one table, apart: no data key can name a session.
// Made in `buffer`, which the backend keeps: a session id with its prefix is longer than
// a string holds without allocating, and every request with a session looks one up.
std::string_view stored_key(std::string& buffer, KeySpace space, std::string_view key) {
  buffer.assign(space == KeySpace::data ? "d:" : "s:");
  buffer += key;
  return buffer;
}

// now + ttl, without overflowing for an absurd ttl.
std::int64_t expiry(std::int64_t now_ms, std::chrono::milliseconds ttl) {
  std::int64_t at = 0;
  return __builtin_add_overflow(now_ms, static_cast<std::int64_t>(ttl.count()), &at)
             ? std::numeric_limits<std::int64_t>::max()
             : at;
}

}  // namespace

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
      if (transaction_ == Transaction::none) {
        if (unchanged_since_snapshot()) {
          transaction_ = Transaction::unchanged;
          end_turn_later();
        } else {
          begin_reading();
        }
      }
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

Outcome<Done> SqliteBackend::write_transaction_begin() {
  return attempt<Done>("beginning a write transaction", [&]() -> Outcome<Done> {
    begin_transaction();
    return Done{};
  });
}

void SqliteBackend::get(KeySpace space, std::string_view key, Callback<std::optional<std::string>> done) {
  run<std::optional<std::string>>(Access::read, "reading a key", [&]() -> Outcome<std::optional<std::string>> {
    const auto stored = stored_key(key_buffer_, space, key);
    const auto now = now_ms_();
    // Only in a turn that checked the cache: not inside its writes.
    const bool cached = transaction_ == Transaction::unchanged || transaction_ == Transaction::reading;
    if (cached) {
      if (const auto* value = cache_.find(stored, now)) {
        ++cached_reads_;
        return std::optional<std::string>(*value);
      }
      if (transaction_ == Transaction::unchanged) begin_reading();  // a query needs a snapshot
    }
    auto& select = statements_->select;
    Resetting reset{select};
    select.bind(1, stored).bind(2, now);
    if (!select.step()) return std::optional<std::string>();
    const auto value = select.column_bytes(0);
    if (cached && cache_fillable_) cache_.remember(stored, value, select.column_int64(1));
    return std::optional<std::string>(value);
  }, std::move(done));
}

void SqliteBackend::set(KeySpace space, std::string_view key, std::string_view value,
                        std::optional<std::chrono::milliseconds> ttl, Callback<Done> done) {
  run<Done>(Access::write, "writing a key", [&]() -> Outcome<Done> {
    const auto stored = stored_key(key_buffer_, space, key);
    cache_.forget(stored);
    auto& upsert = statements_->upsert;
    Resetting reset{upsert};
    upsert.bind(1, stored).bind(2, value);
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
    const auto stored = stored_key(key_buffer_, space, key);
    const auto now = now_ms_();
    cache_.forget(stored);
    auto& update = statements_->update_live;
    Resetting reset{update};
    update.bind(1, stored).bind(2, value).bind(3, expiry(now, ttl)).bind(4, now).step();
    return sqlite3_changes(db_) > 0;
  }, std::move(done));
}

void SqliteBackend::erase(KeySpace space, std::string_view key, Callback<Done> done) {
  run<Done>(Access::write, "erasing a key", [&]() -> Outcome<Done> {
    const auto stored = stored_key(key_buffer_, space, key);
    cache_.forget(stored);
    auto& erase = statements_->erase;
    Resetting reset{erase};
    erase.bind(1, stored).step();
    return Done{};
  }, std::move(done));
}

void SqliteBackend::increment(std::string_view key, std::int64_t by, Callback<std::int64_t> done) {
  run<std::int64_t>(Access::write, "incrementing a counter", [&]() -> Outcome<std::int64_t> {
    // Read and written in one IMMEDIATE transaction, so no other worker writes between.
    const auto stored = stored_key(key_buffer_, KeySpace::data, key);
    cache_.forget(stored);
    const auto now = now_ms_();
    std::int64_t current = 0;
    {
      auto& select = statements_->select;
      Resetting reset{select};
      select.bind(1, stored).bind(2, now);
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
    count.bind(1, stored).bind(2, std::string_view(text)).bind(3, now).step();
    return next;
  }, std::move(done));
}

bool SqliteBackend::purge_expired() {
  // Its own transactions of 1,000 rows: a worker's store would hold the loop turn's
  // transaction open around them.
  if (end_of_turn_) {
    throw std::logic_error("SqliteBackend::purge_expired: only on a connection of its own (purge_expired_store's)");
  }
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


}  // namespace corral::detail
