#include "supervisor/process_usage.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace corral {

std::optional<ProcessUsage> parse_process_stat(std::string_view stat, double ticks_per_second, double page_bytes) {
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const auto end_of_name = stat.rfind(')');
  if (end_of_name == std::string_view::npos || end_of_name + 2 > stat.size()) return std::nullopt;
  std::istringstream fields{std::string(stat.substr(end_of_name + 2))};
  std::string field;
  // From field 3 (state): utime is 14, stime 15, vsize 23, rss 24.
  std::uint64_t values[25] = {};
  int index = 3;
  for (; index <= 24 && fields >> field; ++index) {
    if (index >= 14) values[index] = std::strtoull(field.c_str(), nullptr, 10);
  }
  if (index <= 24) return std::nullopt;
  ProcessUsage usage;
  usage.cpu_seconds = static_cast<double>(values[14] + values[15]) / ticks_per_second;
  usage.virtual_bytes = values[23];
  usage.rss_bytes = static_cast<std::uint64_t>(static_cast<double>(values[24]) * page_bytes);
  return usage;
}

std::optional<ProcessUsage> read_process_usage(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return std::nullopt;
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  return parse_process_stat(text, ticks, page);
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
