#include "supervisor/recycling.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

namespace corral {

std::uint64_t request_limit(std::uint64_t max_requests, double draw) {
  if (max_requests == 0) return 0;
  const auto jitter = static_cast<double>(max_requests / 10);
  return max_requests + static_cast<std::uint64_t>(std::floor(draw * (jitter + 1)));
}

std::optional<std::string> recycle_reason(const RecyclePolicy& policy, std::uint64_t requests,
                                          std::uint64_t limit, std::uint64_t rss_bytes) {
  if (policy.max_requests > 0 && requests >= limit) {
    return fmt::format("it served {} requests (its limit: {})", requests, limit);
  }
  if (policy.max_rss_bytes > 0 && rss_bytes > policy.max_rss_bytes) {
    return fmt::format("its resident memory {} MiB is over max_rss {} MiB", rss_bytes >> 20, policy.max_rss_bytes >> 20);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> rss_from_statm(std::string_view statm, std::uint64_t page_size) {
  const auto space = statm.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto rest = statm.substr(space + 1);
  std::uint64_t pages = 0;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), pages);
  if (error != std::errc{} || end == rest.data()) return std::nullopt;
  return pages * page_size;
}

std::optional<std::uint64_t> process_rss(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/statm", pid));
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  return rss_from_statm(text, static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
}

}  // namespace corral
