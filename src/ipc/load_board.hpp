#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/unique_fd.hpp"
#include "ipc/request_counters.hpp"
#include "ipc/shared_text.hpp"

namespace corral::ipc {

// How many connections each worker holds, in memory the supervisor shares with every
// worker (a memfd each worker inherits, like its channel). The kernel gives a new
// connection to a worker that is waiting in epoll_wait(); on a machine where the
// workers wait for a core, that is whichever the scheduler happened to run, and a burst
// of connections can land on one worker and stay there as long as it is kept alive.
// With the board, a worker that holds clearly more than the least loaded worker stops
// taking connections until the others catch up (worker/share_rule.hpp).
class LoadBoard {
 public:
  struct alignas(64) Entry {
    std::atomic<std::int32_t> pid{0};  // 0: free
    std::atomic<std::uint32_t> connections{0};
    std::atomic<std::uint32_t> accepting{0};
    // Since when (steady clock, ms) the worker's loop has been handling events without
    // waiting for more; 0 while it waits. A large age means a hung loop.
    std::atomic<std::int64_t> busy_since_ms{0};
    // The worker's view of the store: 0 off, 1 up, 2 down (store/store_backend.hpp).
    std::atomic<std::uint32_t> store_health{0};
    // Redis Sentinel: the primary the worker uses ("10.0.0.2:6379"), and how many times
    // it has seen the primary change.
    SharedText<62> store_primary;
    std::atomic<std::uint64_t> store_failovers{0};
    // What it has served, for metrics; the supervisor folds it into the pool's totals
    // when the worker exits, before it frees the entry.
    RequestCounters requests;
  };
  // Workers at once, counting those still draining after a reload.
  static constexpr std::size_t capacity = 4096;

  // The supervisor's: a new, zeroed board.
  static LoadBoard create();
  // A worker's: the board behind an inherited fd.
  static LoadBoard attach(int fd);

  LoadBoard() = default;
  LoadBoard(LoadBoard&& other) noexcept;
  LoadBoard& operator=(LoadBoard&& other) noexcept;
  ~LoadBoard();

  int fd() const { return fd_.get(); }
  bool valid() const { return memory_ != nullptr; }
  // A free entry for this worker's pid (its counters were zeroed when it was freed);
  // nullptr if the board is full.
  Entry* claim(pid_t pid);
  // The entry of `pid`; nullptr if it has none.
  Entry* find(pid_t pid);
  const Entry* find(pid_t pid) const;
  // Frees the entry of a worker that exited. Only the supervisor frees entries, after
  // it has read the worker's last counts.
  void release(pid_t pid);
  // Every entry that was ever claimed; free ones have pid 0.
  std::span<Entry> entries();
  std::span<const Entry> entries() const;

 private:
  struct Memory;
  LoadBoard(UniqueFd fd, Memory* memory) : fd_(std::move(fd)), memory_(memory) {}

  UniqueFd fd_;
  Memory* memory_ = nullptr;
};

}  // namespace corral::ipc
