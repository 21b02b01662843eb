#include "store/wal_commit_watch.hpp"

#include <sqlite3.h>

#include <atomic>
#include <tuple>

namespace corral::detail {
namespace {

constexpr int wal_index_page_size = 32768;  // the size SQLite maps the -shm file in (WALINDEX_PGSZ)
constexpr std::size_t is_init_byte = 12;    // WalIndexHdr.isInit: nonzero once the header is valid

bool in_wal_mode(sqlite3* db) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA main.journal_mode", -1, &statement, nullptr) != SQLITE_OK) return false;
  const bool wal = sqlite3_step(statement) == SQLITE_ROW &&
                   sqlite3_stricmp(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)), "wal") == 0;
  sqlite3_finalize(statement);
  return wal;
}

}  // namespace

WalCommitWatch::WalCommitWatch(sqlite3* db) {
  // Asking for the -shm of a connection in another mode would make one.
  if (!in_wal_mode(db)) return;
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || file == nullptr ||
      file->pMethods == nullptr || file->pMethods->iVersion < 2 || file->pMethods->xShmMap == nullptr) {
    return;
  }
  // bExtend = 0: the region SQLite's connection has already mapped, or none (not in WAL
  // mode, or nothing read yet); the mapping lives as long as the connection.
  void volatile* region = nullptr;
  if (file->pMethods->xShmMap(file, 0, wal_index_page_size, 0, &region) != SQLITE_OK) return;
  header_ = static_cast<const std::uint32_t*>(const_cast<void*>(region));
}

std::optional<WalCommitWatch::Mark> WalCommitWatch::mark() const {
  if (header_ == nullptr) return std::nullopt;
  // Read as SQLite's walIndexTryHdr reads it: the first copy, a barrier, the second.
  constexpr auto words = std::tuple_size_v<Mark>;
  Mark first{};
  Mark second{};
  // Another process writes it meanwhile: each word is loaded whole, as SQLite's are.
  for (Mark::size_type i = 0; i < words; ++i) first[i] = __atomic_load_n(&header_[i], __ATOMIC_RELAXED);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (Mark::size_type i = 0; i < words; ++i) second[i] = __atomic_load_n(&header_[words + i], __ATOMIC_RELAXED);
  if (first != second || reinterpret_cast<const unsigned char*>(first.data())[is_init_byte] == 0) return std::nullopt;
  return first;
}

}  // namespace corral::detail
