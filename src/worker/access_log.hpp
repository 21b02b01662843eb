#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "corral/request.hpp"
#include "worker/token_bucket.hpp"

namespace corral {

// One entry per request, when access_log is on: to the journal with the request's
// fields (journalctl -u corral CORRAL_STATUS=500), or a plain line outside systemd.
// At most access_log_rate entries a second per worker: the rest are counted and the
// count is logged once a second, so a flood cannot drown the journal.
class AccessLog {
 public:
  using Clock = std::chrono::steady_clock;

  // `program`, `slot` and `generation` name the worker in the journal, like its other lines.
  AccessLog(unsigned rate_per_second, bool to_journal, const std::string& program, unsigned slot,
            std::uint32_t generation);

  void record(const Request& request, int status, std::uint64_t bytes, Clock::duration duration, Clock::time_point now);
  // Logs how many entries the limit held back, once a second (the worker's heartbeat
  // calls it, so a burst's count is told even if no request follows).
  void report_dropped(Clock::time_point now);
  std::uint64_t dropped() const { return dropped_total_; }

 private:
  void write(const Request& request, int status, std::uint64_t bytes, Clock::duration duration);

  TokenBucket bucket_;
  bool to_journal_;
  std::string identifier_field_;
  std::string slot_field_;
  std::string generation_field_;
  std::uint64_t dropped_ = 0;        // since the last report
  std::uint64_t dropped_total_ = 0;
  Clock::time_point next_report_{};
};

}  // namespace corral
