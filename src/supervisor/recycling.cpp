#include "supervisor/recycling.hpp"

#include <cmath>

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

}  // namespace corral
