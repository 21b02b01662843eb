#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tasks/task_scheduler.hpp"
#include "ipc/request_counters.hpp"

namespace corral::metrics {

// Why a worker was replaced, for corral_worker_restarts_total{cause}.
enum class RestartCause { suicide_notice, signal, exit, hang, failed_start, recycle, task_timeout };
inline constexpr std::array<const char*, 7> restart_cause_names{"suicide_notice", "signal",  "exit",        "hang",
                                                                "failed_start",   "recycle", "task_timeout"};

struct SlotMetrics {
  unsigned slot = 0;
  std::uint32_t connections = 0;
  std::uint64_t rss_bytes = 0;     // of its live workers
  double cpu_seconds = 0;          // of every worker it has had
};

struct ProcessMetrics {
  double cpu_seconds = 0;
  std::uint64_t rss_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  double start_time_seconds = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;
};

// Everything one scrape shows, taken by the supervisor at one moment. Counters include
// the counts of workers that have exited, so they never go backwards.
struct PoolMetrics {
  std::string service;
  std::string version;
  ipc::RequestTotals requests;
  std::array<std::uint64_t, 5> workers_by_state{};  // starting, ready, retiring, draining, hung
  std::vector<SlotMetrics> slots;
  std::array<std::uint64_t, restart_cause_names.size()> restarts{};
  bool store_configured = false;
  bool store_up = false;
  std::uint64_t store_failovers = 0;  // Redis Sentinel: primary changes seen
  ProcessMetrics supervisor;
  std::vector<tasks::TaskStatus> tasks;
};

inline constexpr std::array<const char*, 5> worker_state_names{"starting", "ready", "retiring", "draining", "hung"};

// The Prometheus text exposition format (version 0.0.4).
std::string render(const PoolMetrics& metrics);

}  // namespace corral::metrics
