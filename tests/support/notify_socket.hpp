#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace corral::test {

// Plays systemd's side of sd_notify: a datagram socket in a temporary directory whose
// path goes into the child's NOTIFY_SOCKET. Like systemd, it reads all the time (a
// thread), so the sender never blocks on a full queue.
class NotifySocket {
 public:
  NotifySocket();
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  std::string environment() const { return "NOTIFY_SOCKET=" + path_; }
  // The next notification that contains `needle`; later calls search after it.
  std::optional<std::string> wait_for(std::string_view needle, std::chrono::milliseconds timeout);
  std::vector<std::string> received() const;

 private:
  void read_all();

  std::string directory_;
  std::string path_;
  int fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::size_t searched_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::string> received_;
  std::thread reader_;
};

}  // namespace corral::test
