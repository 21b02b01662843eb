#pragma once

#include <sched.h>

#include <filesystem>
#include <optional>
#include <string_view>

namespace corral {

// CPUs set in an affinity mask (sched_getaffinity).
unsigned count_cpus(const cpu_set_t& mask);

// The CPUs a cgroup v2 cpu.max line allows: "max 100000" -> nullopt (no quota),
// "150000 100000" -> 2 (quota / period, rounded up). nullopt also for text it cannot read.
std::optional<unsigned> cpus_from_cpu_max(std::string_view contents);

// The tightest cpu.max quota on the way from `cgroup` (a path relative to the cgroup2
// mount, as in /proc/self/cgroup's "0::" line) up to the root of `cgroup2_mount`.
std::optional<unsigned> cgroup_cpu_limit(const std::filesystem::path& cgroup2_mount,
                                         std::string_view cgroup);

// One worker per CPU this process may run on, capped by its cgroup's CPU quota.
unsigned default_worker_count();

// The pool's size: the configured count, or default_worker_count() for 0.
inline unsigned resolve_worker_count(unsigned configured) {
  return configured == 0 ? default_worker_count() : configured;
}

}  // namespace corral
