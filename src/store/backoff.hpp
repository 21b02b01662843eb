#pragma once

#include <algorithm>
#include <chrono>

namespace corral::detail {

// Delays between attempts to reach a store that failed: 100 ms, doubling to `longest`
// (5 s), back to the start after a success. Pure; the caller keeps the clock.
class Backoff {
 public:
  static constexpr std::chrono::milliseconds first{100};

  explicit Backoff(std::chrono::milliseconds longest = std::chrono::milliseconds(5000)) : longest_(longest) {}

  // The delay before the next attempt, after a failed one.
  std::chrono::milliseconds next() {
    const auto delay = current_;
    current_ = std::min(current_ * 2, longest_);
    return delay;
  }
  void succeeded() { current_ = first; }

 private:
  std::chrono::milliseconds longest_;
  std::chrono::milliseconds current_ = first;
};

}  // namespace corral::detail
