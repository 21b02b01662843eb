#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/unique_fd.hpp"
#include "config/settings.hpp"
#include "http/router.hpp"
#include "ipc/load_board.hpp"
#include "worker/connection.hpp"
#include "worker/deadline_queue.hpp"
#include "worker/event_loop.hpp"
#include "worker/listener.hpp"

namespace corral {

// The deadlines a connection can wait under, one queue per length.
struct ConnectionDeadlines {
  ConnectionDeadlines(EventLoop& loop, const HttpLimits& limits);
  DeadlineQueue<Connection> keepalive;    // idle between requests
  DeadlineQueue<Connection> request;      // from a request's first bytes to its end
  DeadlineQueue<Connection> send;         // one answer into a full socket
  DeadlineQueue<Connection> linger;       // reading what follows a rejected request
  DeadlineQueue<Connection> drain_grace;  // idle while the worker drains
};

// One worker process: a single-threaded event loop that accepts on the shared listening
// sockets, serves HTTP, talks to the supervisor over its channel and drains on request.
class Worker {
 public:
  Worker(const Settings& settings, const WorkerIdentity& identity);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Returns once drained (or at the drain deadline); the process exit code.
  int run();

  // For connections.
  EventLoop& loop() { return loop_; }
  ConnectionDeadlines& deadlines() { return deadlines_; }
  const http::Router& router() const { return router_; }
  const HttpLimits& limits() const { return settings_.http; }
  bool draining() const { return draining_; }
  const std::string& date_header();
  // Where connections receive: one buffer for all, as only one reads at a time.
  std::span<char> read_buffer() { return read_buffer_; }
  // A request reached a handler (its answer may still be on its way).
  void count_request();
  // A handler threw: announce it (suicide notice) and drain.
  void on_handler_exception(const std::string& what);
  void on_connection_closed(Connection& connection);

 private:
  void on_connection(UniqueFd socket);
  void on_accept_error(int error);
  void on_heartbeat();
  void read_channel();
  void on_terminate_signal();
  void begin_drain(const std::string& reason, std::chrono::milliseconds deadline);
  void stop_if_drained();
  // Publishes this worker's connection count and pauses or resumes accepting.
  void balance();

  Settings settings_;
  WorkerIdentity identity_;
  http::Router router_;
  std::uint64_t requests_ = 0;
  bool draining_ = false;
  bool suicide_sent_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::time_t date_second_ = 0;
  std::chrono::steady_clock::time_point last_accept_error_log_{};
  std::string date_;
  std::array<char, 16 * 1024> read_buffer_;

  EventLoop loop_;
  ConnectionDeadlines deadlines_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  UniqueFd terminate_signal_;
  FunctionHandler channel_handler_;
  FunctionHandler terminate_handler_;
  Timer heartbeat_timer_;
  Timer drain_timer_;
  ipc::LoadBoard load_board_;
  ipc::LoadBoard::Entry* load_entry_ = nullptr;
  bool accept_paused_ = false;
  std::chrono::milliseconds balance_interval_{1};
  std::pair<std::uint32_t, std::uint64_t> balance_view_{};  // own and the others' connections
  // While paused, the others' counts are looked at again this often.
  Timer balance_timer_;
};

}  // namespace corral
