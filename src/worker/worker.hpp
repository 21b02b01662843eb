#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/settings.hpp"
#include "worker/accept_thread.hpp"
#include "http/router.hpp"

namespace corral {

class HttpSession;

// One worker process: a single-threaded io_context that accepts on the shared listening
// sockets, serves HTTP, talks to the supervisor over its channel and drains on request.
class Worker {
 public:
  Worker(const Settings& settings, const WorkerIdentity& identity);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Returns once drained (or at the drain deadline); the process exit code.
  int run();

  // For sessions.
  const http::Router& router() const { return router_; }
  const HttpLimits& limits() const { return settings_.http; }
  bool draining() const { return draining_; }
  const std::string& date_header();
  // A request reached a handler (its answer may still be on its way).
  void count_request();
  // A handler threw: announce it (suicide notice) and drain.
  void on_handler_exception(const std::string& what);
  void add_session(HttpSession* session);
  void remove_session(HttpSession* session);

 private:
  void on_connection(int fd, boost::asio::ip::tcp protocol);
  void on_accept_error(int error);
  void schedule_heartbeat();
  void read_channel();
  void on_terminate_signal();
  void begin_drain(const std::string& reason, std::chrono::milliseconds deadline);
  void stop_if_drained();

  Settings settings_;
  WorkerIdentity identity_;
  http::Router router_;
  std::uint64_t requests_ = 0;
  bool draining_ = false;
  bool suicide_sent_ = false;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::time_t date_second_ = 0;
  std::chrono::steady_clock::time_point last_accept_error_log_{};
  std::string date_;

  // Declared before the io_context so that it outlives the sessions the io_context
  // destroys with its pending handlers.
  std::unordered_set<HttpSession*> sessions_;
  boost::asio::io_context io_{1};  // one thread runs it; the accept threads only post
  std::vector<std::unique_ptr<AcceptThread>> accept_threads_;
  boost::asio::posix::stream_descriptor channel_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer drain_timer_;
  boost::asio::signal_set terminate_signals_;
};

}  // namespace corral
