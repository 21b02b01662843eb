#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

// Resident set size from the text of /proc/PID/statm ("size resident shared ...").
std::optional<std::uint64_t> rss_from_statm(std::string_view statm, std::uint64_t page_size);
// The same, read for a live process; nullopt if it cannot be read (it just exited).
std::optional<std::uint64_t> process_rss(pid_t pid);

}  // namespace corral
