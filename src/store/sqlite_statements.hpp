#pragma once

// The store's SQL, prepared once per connection (sqlite_backend.cpp, sqlite_file.cpp and
// sqlite_group_commit.cpp use it).

#include "store/sqlite_backend.hpp"
#include "store/sqlite_statement.hpp"

namespace corral::detail {

struct SqliteBackend::Statements {
  explicit Statements(sqlite3* db)
      : select(db,
               "SELECT value, expires_at FROM corral_kv WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)"),
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
        // Starts the read transaction's snapshot; changes when another connection commits.
        data_version(db, "PRAGMA data_version"),
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
  Statement data_version;
  Statement commit;
  Statement rollback;
};

}  // namespace corral::detail
