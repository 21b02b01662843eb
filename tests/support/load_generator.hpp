#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace corral::test {

struct LoadStats {
  std::uint64_t requests = 0;   // answered or failed (a retry is the same request)
  std::uint64_t succeeded = 0;  // a complete 200
  std::uint64_t failed = 0;     // no complete answer: reset, closed mid-answer, time-out, not 200
  std::uint64_t refused = 0;    // connect() refused: nothing was listening
  std::uint64_t retried = 0;    // a reused keep-alive connection closed before any byte of the
                                // answer; retried on a new one, as HTTP clients do (RFC 9112 9.3.1)
  double seconds = 0;
  // What went wrong first, and when (seconds after the start): for a test's message.
  std::string first_failure;
};

// Steady load on 127.0.0.1 for the fault suite: `keepalive` clients that each keep one
// connection for as long as the server does, and `fresh` clients that open a new
// connection per request. Every client sends one request after the other until stop().
class LoadGenerator {
 public:
  LoadGenerator(std::uint16_t port, std::string target, unsigned keepalive, unsigned fresh);
  ~LoadGenerator();
  LoadStats stop();
  std::uint64_t succeeded() const { return succeeded_.load(); }

 private:
  void keepalive_client();
  void fresh_client();
  void note_failure(const std::string& what);

  std::uint16_t port_;
  std::string request_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> requests_{0}, succeeded_{0}, failed_{0}, refused_{0}, retried_{0};
  std::chrono::steady_clock::time_point started_;
  std::mutex failure_mutex_;
  std::string first_failure_;
  std::vector<std::thread> clients_;
};

}  // namespace corral::test
