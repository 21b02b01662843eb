#include "ipc/load_board.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <new>
#include <utility>

#include "common/system_error.hpp"

namespace corral::ipc {

struct LoadBoard::Memory {
  std::atomic<std::uint32_t> high_water{0};  // entries ever claimed
  Entry entries[capacity];
};

static_assert(std::atomic<std::int64_t>::is_always_lock_free && std::atomic<std::int32_t>::is_always_lock_free,
              "the board is shared between processes: its atomics must not need a lock");

namespace {

void* map_board(int fd, std::size_t size, const char* attempt) {
  void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) throw_system_error("mmap", attempt);
  return memory;
}

}  // namespace

LoadBoard LoadBoard::create() {
  UniqueFd fd(::memfd_create("corral-load-board", MFD_CLOEXEC));
  if (!fd.valid()) throw_system_error("memfd_create", "creating the workers' load board");
  if (::ftruncate(fd.get(), sizeof(Memory)) != 0) throw_system_error("ftruncate", "sizing the workers' load board");
  // A new memfd reads as zeroes: every entry free.
  auto* memory = static_cast<Memory*>(map_board(fd.get(), sizeof(Memory), "mapping the workers' load board"));
  return LoadBoard(std::move(fd), memory);
}

LoadBoard LoadBoard::attach(int fd) {
  auto* memory = static_cast<Memory*>(map_board(fd, sizeof(Memory), "mapping the load board inherited from the supervisor"));
  return LoadBoard(UniqueFd(fd), memory);
}

LoadBoard::LoadBoard(LoadBoard&& other) noexcept
    : fd_(std::move(other.fd_)), memory_(std::exchange(other.memory_, nullptr)) {}

LoadBoard& LoadBoard::operator=(LoadBoard&& other) noexcept {
  if (this != &other) {
    if (memory_) ::munmap(memory_, sizeof(Memory));
    fd_ = std::move(other.fd_);
    memory_ = std::exchange(other.memory_, nullptr);
  }
  return *this;
}

LoadBoard::~LoadBoard() {
  if (memory_) ::munmap(memory_, sizeof(Memory));
}

LoadBoard::Entry* LoadBoard::claim(pid_t pid) {
  if (!memory_) return nullptr;
  for (std::size_t i = 0; i < capacity; ++i) {
    Entry& entry = memory_->entries[i];
    std::int32_t expected = 0;
    if (!entry.pid.compare_exchange_strong(expected, pid)) continue;
    entry.connections.store(0, std::memory_order_relaxed);
    entry.accepting.store(0, std::memory_order_relaxed);
    entry.busy_since_ms.store(0, std::memory_order_relaxed);
    entry.store_health.store(0, std::memory_order_relaxed);
    entry.store_primary.clear();
    entry.store_failovers.store(0, std::memory_order_relaxed);
    auto high = memory_->high_water.load();
    while (high < i + 1 && !memory_->high_water.compare_exchange_weak(high, static_cast<std::uint32_t>(i + 1))) {
    }
    return &entry;
  }
  return nullptr;
}

LoadBoard::Entry* LoadBoard::find(pid_t pid) {
  for (Entry& entry : entries()) {
    if (entry.pid.load(std::memory_order_relaxed) == pid) return &entry;
  }
  return nullptr;
}

const LoadBoard::Entry* LoadBoard::find(pid_t pid) const {
  for (const Entry& entry : entries()) {
    if (entry.pid.load(std::memory_order_relaxed) == pid) return &entry;
  }
  return nullptr;
}

void LoadBoard::release(pid_t pid) {
  for (Entry& entry : entries()) {
    if (entry.pid.load(std::memory_order_relaxed) != pid) continue;
    entry.accepting.store(0);
    // Zeroed before the entry is free: a worker that claims it next shows nothing of
    // its predecessor, whose counts the supervisor has already folded into the pool's.
    entry.requests.reset();
    std::int32_t expected = pid;
    entry.pid.compare_exchange_strong(expected, 0, std::memory_order_release);
  }
}

std::span<LoadBoard::Entry> LoadBoard::entries() {
  if (!memory_) return {};
  return {memory_->entries, std::min<std::size_t>(memory_->high_water.load(std::memory_order_relaxed), capacity)};
}

std::span<const LoadBoard::Entry> LoadBoard::entries() const {
  return const_cast<LoadBoard*>(this)->entries();  // the same entries, read-only
}

}  // namespace corral::ipc
