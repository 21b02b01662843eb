#include "supervisor/cpu_count.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace corral {
namespace {

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::optional<unsigned long long> parse_number(std::string_view text) {
  unsigned long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Where the cgroup2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on
// hybrid systems), from /proc/self/mounts.
std::optional<std::filesystem::path> cgroup2_mount_point() {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, mount_point, type;
  std::string rest;
  while (mounts >> device >> mount_point >> type && std::getline(mounts, rest)) {
    if (type == "cgroup2") return std::filesystem::path(mount_point);
  }
  return std::nullopt;
}

std::optional<std::string> own_cgroup2_path() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("0::")) return line.substr(3);
  }
  return std::nullopt;
}

}  // namespace

unsigned count_cpus(const cpu_set_t& mask) {
  return static_cast<unsigned>(CPU_COUNT(&mask));
}

std::optional<unsigned> cpus_from_cpu_max(std::string_view contents) {
  while (!contents.empty() && (contents.back() == '\n' || contents.back() == ' ')) {
    contents.remove_suffix(1);
  }
  const auto space = contents.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto quota_text = contents.substr(0, space);
  if (quota_text == "max") return std::nullopt;
  const auto quota = parse_number(quota_text);
  const auto period = parse_number(contents.substr(space + 1));
  if (!quota || !period || *period == 0 || *quota == 0) return std::nullopt;
  return static_cast<unsigned>((*quota + *period - 1) / *period);
}

std::optional<unsigned> cgroup_cpu_limit(const std::filesystem::path& cgroup2_mount,
                                         std::string_view cgroup) {
  std::optional<unsigned> limit;
  auto relative = std::filesystem::path(cgroup).relative_path();
  for (;;) {
    if (const auto contents = read_file(cgroup2_mount / relative / "cpu.max")) {
      if (const auto cpus = cpus_from_cpu_max(*contents)) {
        limit = limit ? std::min(*limit, *cpus) : *cpus;
      }
    }
    if (relative.empty()) break;
    relative = relative.parent_path();
  }
  return limit;
}

unsigned default_worker_count() {
  unsigned cpus = 1;
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (::sched_getaffinity(0, sizeof mask, &mask) == 0) cpus = std::max(1u, count_cpus(mask));
  const auto mount = cgroup2_mount_point();
  const auto cgroup = own_cgroup2_path();
  if (mount && cgroup) {
    if (const auto quota = cgroup_cpu_limit(*mount, *cgroup)) cpus = std::min(cpus, *quota);
  }
  return cpus;
}

}  // namespace corral
