#pragma once

#include <array>
#include <deque>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
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
#include "worker/handler_loop.hpp"
#include "worker/http_date.hpp"
#include "event/deadline_queue.hpp"
#include "event/event_loop.hpp"
#include "worker/access_log.hpp"
#include "worker/listener.hpp"
#include "worker/task_runner.hpp"
#include "store/worker_store.hpp"

namespace corral {

// One worker process: a single-threaded event loop that accepts on the shared listening
// sockets, serves HTTP, talks to the supervisor over its channel and drains on request.
class Worker final : public ConnectionOwner {
 public:
  Worker(const Settings& settings, const WorkerIdentity& identity, const http::Router& router,
         const TaskFunctions& tasks, std::string_view service_name);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Returns once drained (or at the drain deadline); the process exit code.
  int run();
  std::size_t running_tasks() const { return task_runner_->running(); }

 private:
  // ConnectionOwner
  void serve(Request& request, Response& response) override;
  bool refuse_unrouted(const Request& request, Response& response) override {
    return router_.answer_unrouted(request, response);
  }
  // A handler threw: announce it (suicide notice) and drain.
  void on_handler_exception(const std::string& what) override;
  bool draining() const override { return draining_; }
  void on_closed(Connection& connection) override;
  void on_response(const Request& request, int status, std::size_t bytes, EventLoop::Clock::duration duration) override;

  // The `io_uring` setting: the connections' I/O through the loop's completion ring.
  void open_completion_ring();
  void on_connection(UniqueFd socket);
  void on_accept_error(int error);
  void on_heartbeat();
  // To the supervisor, in order; what the channel cannot take now waits.
  void send(ipc::Message message);
  void flush_outbox();
  void read_channel();
  void on_terminate_signal();
  void begin_drain(const std::string& reason, std::chrono::milliseconds deadline);
  void stop_if_drained();
  // Publishes this worker's connection count and pauses or resumes accepting.
  void balance();

  Settings settings_;
  WorkerIdentity identity_;
  const http::Router& router_;
  std::uint64_t requests_ = 0;
  bool draining_ = false;
  bool suicide_sent_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  std::chrono::steady_clock::time_point last_accept_error_log_{};
  std::array<char, 16 * 1024> read_buffer_;
  HttpDate date_;

  EventLoop loop_;
  HandlerLoop handler_loop_;
  ConnectionDeadlines deadlines_;
  std::unique_ptr<detail::WorkerStore> store_;
  std::optional<AccessLog> access_log_;
  // The store's health and (Sentinel) primary on the load board, for the supervisor.
  void publish_store_state();
  std::string published_primary_;
  TaskFunctions task_functions_;  // the service's, and one per command task of the file
  std::unique_ptr<TaskRunner> task_runner_;
  Timer task_deadline_timer_;
  Timer task_stop_timer_;
  std::deque<ipc::Message> outbox_;
  ConnectionEnvironment environment_;
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
