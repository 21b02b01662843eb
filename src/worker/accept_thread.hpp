#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <functional>
#include <thread>

#include <boost/asio/io_context.hpp>

namespace corral {

// Takes connections from a shared listening socket with a blocking accept() in a thread
// of its own, and hands each to the io_context. The kernel queues blocked accept()
// callers first in, first out and wakes one per connection, so connections spread
// evenly across workers; epoll (Asio's acceptor) wakes the most recent waiter first,
// and one busy worker ends up with most of them.
//
// The thread takes the next connection only once the event loop has picked up the last
// one: a worker whose loop is stuck (a hung handler) stops accepting after at most one
// connection, and the others take the rest.
class AcceptThread {
 public:
  // `on_connection` runs on the io_context's thread with the accepted fd (non-blocking,
  // close-on-exec); `on_error` there too, with the errno of a failed accept().
  AcceptThread(boost::asio::io_context& io, int listen_fd, std::function<void(int)> on_connection,
               std::function<void(int)> on_error);
  ~AcceptThread();
  AcceptThread(const AcceptThread&) = delete;
  AcceptThread& operator=(const AcceptThread&) = delete;

  void start();
  // Returns once the thread has exited; every connection it accepted has been posted.
  void stop();
  // Connections accepted and posted whose on_connection has not run yet.
  bool has_pending() const { return pending_ > 0; }

 private:
  void run();

  boost::asio::io_context& io_;
  int listen_fd_;
  std::function<void(int)> on_connection_;
  std::function<void(int)> on_error_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> exited_{false};
  std::atomic<int> pending_{0};
  std::mutex mutex_;
  std::condition_variable picked_up_;
  std::thread thread_;
};

}  // namespace corral
