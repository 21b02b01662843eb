#pragma once

#include <chrono>
#include <deque>
#include <utility>

namespace corral {

// A counter's rate over the last `window`, from samples taken about once a second
// (requests served, CPU seconds used). Pure: the caller gives the times.
class RateWindow {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds window{10};

  void add(Clock::time_point when, double value) {
    samples_.emplace_back(when, value);
    // Keep one sample older than the window, so the rate covers all of it.
    while (samples_.size() > 2 && samples_[1].first <= when - window) samples_.pop_front();
  }
  // Per second, between the oldest sample kept and the newest; 0 with fewer than two.
  double per_second() const {
    if (samples_.size() < 2) return 0;
    const auto& [first_time, first] = samples_.front();
    const auto& [last_time, last] = samples_.back();
    const double seconds = std::chrono::duration<double>(last_time - first_time).count();
    return seconds > 0 ? (last - first) / seconds : 0;
  }
  double latest() const { return samples_.empty() ? 0 : samples_.back().second; }

 private:
  std::deque<std::pair<Clock::time_point, double>> samples_;
};

}  // namespace corral
