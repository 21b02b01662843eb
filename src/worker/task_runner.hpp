#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.hpp"
#include "corral/task.hpp"
#include "event/event_loop.hpp"
#include "ipc/message.hpp"
#include "store/store_backend.hpp"

namespace corral {

using TaskFunctions = std::map<std::string, TaskFunction, std::less<>>;

// Runs the task runs the supervisor sends, each on a thread of its own, so that the
// worker's event loop goes on serving requests meanwhile. Takes a run's lock across
// machines first when asked, acknowledges the start and reports the end, all over the
// worker's channel (from the loop's thread only).
class TaskRunner {
 public:
  using Send = std::function<void(const ipc::Message&)>;
  struct StoreAccess {
    detail::StoreBackend* backend = nullptr;  // for run locks
    std::string sqlite_path;                  // for purge_expired_store; empty: not SQLite
    std::chrono::milliseconds timeout{1000};
  };

  TaskRunner(EventLoop& loop, const TaskFunctions& functions, StoreAccess store, Send send);
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // A run_task message. Refused (reported at once) while draining or for an unknown task.
  void start(const ipc::Message& order);
  // The worker drains: runs sent from now on are refused (the supervisor hands them on).
  void set_draining() { draining_ = true; }
  // Asks every run to stop early (TaskRun::stop_requested): the worker's drain
  // deadline is near.
  void request_stop();
  // While runs go on within their timeout (or a run's lock is being taken), the
  // worker's drain waits: when to look again; nullopt when nothing is left to wait for.
  std::optional<std::chrono::steady_clock::time_point> next_live_deadline(std::chrono::steady_clock::time_point now) const;
  // Reports the runs whose threads ended (also called before the worker decides it
  // may exit, for one that ended in the loop's last turn).
  void collect();
  std::size_t running() const { return runs_.size(); }
  // Called when a run ends (the worker may now be drained).
  void set_on_idle(std::function<void()> on_idle) { on_idle_ = std::move(on_idle); }

 private:
  struct Run;
  struct Finished {
    std::uint64_t id;
    ipc::TaskEnd end;
    std::chrono::microseconds duration;
    std::string error;
  };
  // Shared with the threads: they outlive nothing, but the process may exit with one
  // still running (drain deadline), and it must not touch a destroyed runner.
  struct Mailbox {
    std::mutex mutex;
    std::vector<Finished> finished;
    UniqueFd wakeup;  // eventfd
  };

  void launch(const ipc::Message& order, std::uint64_t lock_token);
  void refuse(const ipc::Message& order, ipc::TaskEnd end, const std::string& why);

  EventLoop& loop_;
  const TaskFunctions& functions_;
  StoreAccess store_;
  Send send_;
  std::shared_ptr<Mailbox> mailbox_;
  FunctionHandler wakeup_handler_;
  std::map<std::uint64_t, std::unique_ptr<Run>> runs_;
  std::function<void()> on_idle_;
  bool draining_ = false;
  unsigned claims_pending_ = 0;
};

}  // namespace corral
