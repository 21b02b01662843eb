#pragma once

#include <sys/types.h>

#include <deque>
#include <optional>
#include <vector>

#include "supervisor/worker_table.hpp"

namespace corral {

// A reload replaces the workers one at a time: the next one is retired only when the
// previous one's successor is ready, so the pool never loses more than one worker of
// capacity and no request fails. Pure: it looks at the table and says what to do.
class RollingReload {
 public:
  // Starts replacing `workers` (those running the previous configuration), in order.
  void begin(std::vector<pid_t> workers);
  bool active() const { return active_; }

  // The worker to retire now: none while a retired one's successor is not ready yet.
  // Skips workers that ended meanwhile. After the last, the reload is over: active()
  // becomes false and `finished` is set.
  std::optional<pid_t> next(const WorkerTable& table, bool& finished);
  void cancel();

 private:
  std::deque<pid_t> queue_;
  bool active_ = false;
};

// Workers marked retiring whose slot has a ready successor: drain them now.
std::vector<pid_t> retirees_to_drain(const WorkerTable& table);
// A retiring worker still waits for its successor.
bool retiree_waiting(const WorkerTable& table);

}  // namespace corral
