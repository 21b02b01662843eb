#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace corral {

// What /proc says about a process: for `corral status`, metrics and recycling.
struct ProcessUsage {
  double cpu_seconds = 0;          // user + system
  std::uint64_t rss_bytes = 0;
  std::uint64_t virtual_bytes = 0;
};

// The text of /proc/PID/stat, read with the clock's ticks per second and the page size;
// nullopt if it is not such a line.
std::optional<ProcessUsage> parse_process_stat(std::string_view stat, double ticks_per_second, double page_bytes);
// The same for a live process; nullopt once it is gone.
std::optional<ProcessUsage> read_process_usage(pid_t pid);

// This process's open descriptors and their limit (process_open_fds, process_max_fds).
std::uint64_t open_fd_count();
std::uint64_t max_fd_count();

}  // namespace corral
