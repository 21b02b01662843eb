#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace corral::ipc {

// A short text one process writes and another reads, in shared memory, without a lock
// (a sequence lock: the writer makes the version odd while it writes; a reader that
// saw it change reads again). Longer texts are cut.
template <std::size_t Capacity>
class SharedText {
 public:
  void store(std::string_view text) {
    const auto version = version_.load(std::memory_order_relaxed);
    version_.store(version + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    const auto length = std::min(text.size(), Capacity);
    for (std::size_t i = 0; i < length; ++i) characters_[i].store(text[i], std::memory_order_relaxed);
    length_.store(static_cast<std::uint32_t>(length), std::memory_order_relaxed);
    version_.store(version + 2, std::memory_order_release);
  }

  // The text, or "" if the writer kept changing it meanwhile.
  std::string load() const {
    for (int attempt = 0; attempt < 8; ++attempt) {
      const auto before = version_.load(std::memory_order_acquire);
      if (before % 2 != 0) continue;
      std::string text(std::min<std::size_t>(length_.load(std::memory_order_relaxed), Capacity), '\0');
      for (std::size_t i = 0; i < text.size(); ++i) text[i] = characters_[i].load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (version_.load(std::memory_order_relaxed) == before) return text;
    }
    return {};
  }

  void clear() { store({}); }

 private:
  std::atomic<std::uint32_t> version_{0};
  std::atomic<std::uint32_t> length_{0};
  std::array<std::atomic<char>, Capacity> characters_{};
};

}  // namespace corral::ipc
