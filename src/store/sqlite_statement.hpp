#pragma once

// The few SQLite calls the store makes, as C++: an error type that keeps the extended
// result code, and a prepared statement that is reset after each use.

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace corral::detail {

// An SQLite call failed; `code` is its extended result code.
class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

[[noreturn]] inline void fail(sqlite3* db, int code, const char* call, const std::string& what) {
  throw SqliteError(code, fmt::format("{} ({}) failed: {}", call, what,
                                      db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code)));
}

inline void execute(sqlite3* db, const char* sql, const char* what) {
  const int code = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (code != SQLITE_OK) fail(db, code, "sqlite3_exec", what);
}

// A prepared statement, reset after each use so that it never holds a read lock.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    const int code = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement_, nullptr);
    if (code != SQLITE_OK) fail(db, code, "sqlite3_prepare_v3", sql);
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view bytes) {
    check(sqlite3_bind_blob64(statement_, index, bytes.data(), bytes.size(), SQLITE_STATIC), "sqlite3_bind_blob64");
    return *this;
  }
  Statement& bind(int index, std::int64_t number) {
    check(sqlite3_bind_int64(statement_, index, number), "sqlite3_bind_int64");
    return *this;
  }
  Statement& bind_null(int index) {
    check(sqlite3_bind_null(statement_, index), "sqlite3_bind_null");
    return *this;
  }
  // True while a row is there to read.
  bool step() {
    const int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    fail(db_, code, "sqlite3_step", sqlite3_sql(statement_));
  }
  std::string_view column_bytes(int index) {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(statement_, index));
    return {data == nullptr ? "" : data, static_cast<std::size_t>(sqlite3_column_bytes(statement_, index))};
  }
  std::optional<std::int64_t> column_int64(int index) {
    if (sqlite3_column_type(statement_, index) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(statement_, index);
  }
  // Done with the row: unbinds and releases the statement's locks.
  void reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

 private:
  void check(int code, const char* call) {
    if (code != SQLITE_OK) fail(db_, code, call, sqlite3_sql(statement_));
  }
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
};

// Resets a statement whatever happens to the operation that used it.
struct Resetting {
  Statement& statement;
  ~Resetting() { statement.reset(); }
};

}  // namespace corral::detail
