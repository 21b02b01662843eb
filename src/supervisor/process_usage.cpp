#include "supervisor/process_usage.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace corral {
namespace {

// Seconds since the epoch at which the machine booted (/proc/stat "btime").
double boot_time() {
  std::ifstream stat("/proc/stat");
  std::string key;
  double value = 0;
  while (stat >> key) {
    if (key == "btime") {
      stat >> value;
      return value;
    }
    stat.ignore(4096, '\n');
  }
  return 0;
}

}  // namespace

std::optional<ProcessUsage> read_process_usage(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return std::nullopt;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const auto end_of_name = text.rfind(')');
  if (end_of_name == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(end_of_name + 2));
  std::string field;
  // From field 3 (state): utime is 14, stime 15, starttime 22, vsize 23, rss 24.
  std::uint64_t values[25] = {};
  for (int index = 3; index <= 24 && fields >> field; ++index) {
    if (index >= 14) values[index] = std::strtoull(field.c_str(), nullptr, 10);
  }
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  static const double booted = boot_time();
  ProcessUsage usage;
  usage.cpu_seconds = static_cast<double>(values[14] + values[15]) / ticks;
  usage.start_time_seconds = booted + static_cast<double>(values[22]) / ticks;
  usage.virtual_bytes = values[23];
  usage.rss_bytes = static_cast<std::uint64_t>(static_cast<double>(values[24]) * page);
  return usage;
}

std::uint64_t open_fd_count() {
  std::error_code error;
  std::uint64_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++count;
  }
  return count;
}

std::uint64_t max_fd_count() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

}  // namespace corral
