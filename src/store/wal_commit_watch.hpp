#pragma once

#include <array>
#include <cstdint>
#include <optional>

struct sqlite3;

namespace corral::detail {

// Whether any connection, in any process, has committed to a WAL-mode SQLite file since
// a moment, told without a transaction: a worker whose turn finds the file unchanged
// answers its cached reads without taking a read lock (two fcntl calls and three
// statements a turn, about 8 % of a worker's CPU under GET /me before this).
//
// SQLite has no call for it (PRAGMA data_version and SQLITE_FCNTL_DATA_VERSION are only
// brought up to date by a read transaction), so this reads what such a transaction reads
// first: the wal-index header at the start of the -shm file, mapped through the VFS's
// xShmMap as SQLite's own connection maps it. Its layout is part of the file format
// (https://www.sqlite.org/walformat.html, "The WAL-Index Header"): every SQLite version
// that shares a file with another reads and writes it the same way. Every commit writes
// it (its change counter, frame count and checksum), second copy first; a reader takes
// the first copy, then the second, and trusts them only if they agree.
//
// The file cannot leave WAL mode while this connection is open (that takes an exclusive
// lock its open WAL prevents), so a header that did not change means no commit.
class WalCommitWatch {
 public:
  using Mark = std::array<std::uint32_t, 12>;  // the 48-byte header, as it was

  // Watches `db`'s main file, which must have been read since it was opened (that maps
  // the wal-index); one that cannot be watched (not in WAL mode, no shared memory) gives
  // no marks. Valid until `db` is closed.
  explicit WalCommitWatch(sqlite3* db);

  // The header now, or nothing while a commit is writing it (or if unwatchable).
  std::optional<Mark> mark() const;

 private:
  const std::uint32_t* header_ = nullptr;  // in memory another process writes
};

}  // namespace corral::detail
