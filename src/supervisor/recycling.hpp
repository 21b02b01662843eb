#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace corral {

// Recycling (gunicorn's max_requests, uWSGI's reload-on-rss): a worker past its request
// limit or its memory limit is replaced, its successor ready before it drains.
struct RecyclePolicy {
  std::uint64_t max_requests = 0;  // 0: off
  std::uint64_t max_rss_bytes = 0; // 0: off

  bool enabled() const { return max_requests > 0 || max_rss_bytes > 0; }
};

// A worker's own request limit: max_requests plus a jitter of up to a tenth of it, so
// that workers started together are not all recycled together. `draw` is uniform in
// [0, 1).
std::uint64_t request_limit(std::uint64_t max_requests, double draw);

// Why a worker should be recycled now, or nullopt.
std::optional<std::string> recycle_reason(const RecyclePolicy& policy, std::uint64_t requests,
                                          std::uint64_t request_limit, std::uint64_t rss_bytes);

}  // namespace corral
