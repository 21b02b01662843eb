#include "supervisor/rolling_reload.hpp"

#include <algorithm>

namespace corral {

void RollingReload::begin(std::vector<pid_t> workers) {
  queue_.assign(workers.begin(), workers.end());
  active_ = true;
}

void RollingReload::cancel() {
  queue_.clear();
  active_ = false;
}

std::optional<pid_t> RollingReload::next(const WorkerTable& table, bool& finished) {
  finished = false;
  if (!active_ || retiree_waiting(table)) return std::nullopt;
  while (!queue_.empty()) {
    const pid_t pid = queue_.front();
    queue_.pop_front();
    const auto* worker = table.find(pid);
    if (worker && (worker->state == WorkerState::starting || worker->state == WorkerState::ready)) return pid;
  }
  active_ = false;
  finished = true;
  return std::nullopt;
}

std::vector<pid_t> retirees_to_drain(const WorkerTable& table) {
  std::vector<pid_t> ready;
  for (const auto& [pid, worker] : table) {
    if (worker.state == WorkerState::retiring && table.slot_has_ready_worker(worker.slot)) ready.push_back(pid);
  }
  return ready;
}

bool retiree_waiting(const WorkerTable& table) {
  return std::any_of(table.begin(), table.end(), [&table](const auto& entry) {
    return entry.second.state == WorkerState::retiring && !table.slot_has_ready_worker(entry.second.slot);
  });
}

}  // namespace corral
