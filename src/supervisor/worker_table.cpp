#include "supervisor/worker_table.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace corral {

WorkerTable::WorkerTable(unsigned slot_count) : slots_(slot_count) {}

void WorkerTable::resize(unsigned slot_count) {
  slots_.resize(slot_count);
}

std::uint32_t WorkerTable::take_generation(unsigned slot) {
  return ++slots_.at(slot).generation;
}

WorkerRecord& WorkerTable::add(unsigned slot, std::uint32_t generation, pid_t pid,
                               ipc::Channel channel, Clock::time_point now) {
  if (slot >= slot_count()) {
    throw std::out_of_range(fmt::format("worker slot {} does not exist (pool of {})", slot, slot_count()));
  }
  WorkerRecord record;
  record.pid = pid;
  record.slot = slot;
  record.generation = generation;
  record.started_at = now;
  record.last_heard = now;
  record.channel = std::move(channel);
  slots_[slot].hold.reset();
  auto [it, inserted] = workers_.insert_or_assign(pid, std::move(record));
  return it->second;
}

WorkerRecord* WorkerTable::find(pid_t pid) {
  const auto it = workers_.find(pid);
  return it == workers_.end() ? nullptr : &it->second;
}

const WorkerRecord* WorkerTable::find(pid_t pid) const {
  const auto it = workers_.find(pid);
  return it == workers_.end() ? nullptr : &it->second;
}

std::optional<WorkerRecord> WorkerTable::remove(pid_t pid) {
  auto node = workers_.extract(pid);
  if (node.empty()) return std::nullopt;
  return std::move(node.mapped());
}

void WorkerTable::hold_slot(unsigned slot, Clock::time_point until) {
  slots_.at(slot).hold = until;
}

std::optional<Clock::time_point> WorkerTable::earliest_hold() const {
  std::optional<Clock::time_point> earliest;
  for (unsigned slot = 0; slot < slot_count(); ++slot) {
    const auto& hold = slots_[slot].hold;
    if (hold && !has_serving_worker(slot) && (!earliest || *hold < *earliest)) earliest = hold;
  }
  return earliest;
}

bool WorkerTable::has_serving_worker(unsigned slot) const {
  return std::any_of(workers_.begin(), workers_.end(), [slot](const auto& entry) {
    const auto state = entry.second.state;
    return entry.second.slot == slot && (state == WorkerState::starting || state == WorkerState::ready);
  });
}

std::vector<unsigned> WorkerTable::vacant_slots(Clock::time_point now) const {
  std::vector<unsigned> vacant;
  for (unsigned slot = 0; slot < slot_count(); ++slot) {
    if (has_serving_worker(slot)) continue;
    if (slots_[slot].hold && now < *slots_[slot].hold) continue;
    vacant.push_back(slot);
  }
  return vacant;
}

bool WorkerTable::slot_has_ready_worker(unsigned slot) const {
  return std::any_of(workers_.begin(), workers_.end(), [slot](const auto& entry) {
    return entry.second.slot == slot && entry.second.state == WorkerState::ready;
  });
}

bool WorkerTable::all_slots_ready() const {
  for (unsigned slot = 0; slot < slot_count(); ++slot) {
    if (!slot_has_ready_worker(slot)) return false;
  }
  return true;
}

unsigned WorkerTable::count(WorkerState state) const {
  return static_cast<unsigned>(std::count_if(workers_.begin(), workers_.end(),
                                             [state](const auto& entry) { return entry.second.state == state; }));
}

bool WorkerTable::has_unkillable_worker(Clock::time_point now, Clock::duration grace) const {
  return std::any_of(workers_.begin(), workers_.end(), [now, grace](const auto& entry) {
    return entry.second.kill_sent_at && now - *entry.second.kill_sent_at >= grace;
  });
}

}  // namespace corral
