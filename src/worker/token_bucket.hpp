#pragma once

#include <algorithm>
#include <chrono>
#include <optional>

namespace corral {

// At most `rate` events a second, in bursts of at most `rate`. Pure: the caller gives
// the time.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  explicit TokenBucket(double rate) : rate_(rate), tokens_(rate) {}

  bool take(Clock::time_point now) {
    if (last_) tokens_ = std::min(rate_, tokens_ + rate_ * std::chrono::duration<double>(now - *last_).count());
    last_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double rate_;
  double tokens_;
  std::optional<Clock::time_point> last_;
};

}  // namespace corral
