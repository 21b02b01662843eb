#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace corral::test {

// Steady load while a test changes the server: one request after another on a new
// connection each, until stopped (and at most a few minutes). A failure is a request
// without a complete 200 answer.
class ClientLoop {
 public:
  explicit ClientLoop(std::uint16_t port);
  ~ClientLoop();

  void stop();
  int succeeded() const { return succeeded_.load(); }
  int failed() const { return failed_.load(); }
  std::vector<std::string> failures() const;

 private:
  void run(std::uint16_t port);

  std::atomic<bool> stopping_{false};
  std::atomic<int> succeeded_{0};
  std::atomic<int> failed_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> failures_;
  std::thread thread_;
};

}  // namespace corral::test
