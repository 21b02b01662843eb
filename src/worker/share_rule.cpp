#include "worker/share_rule.hpp"

#include <algorithm>
#include <limits>

namespace corral {

bool holds_more_than_its_share(std::uint32_t own, std::span<const PeerLoad> peers, std::int64_t now_ms) {
  auto least = std::numeric_limits<std::uint32_t>::max();
  for (const auto& peer : peers) {
    const bool stuck = peer.busy_since_ms != 0 && now_ms - peer.busy_since_ms > stuck_after_ms;
    if (!stuck) least = std::min(least, peer.connections);
  }
  if (least == std::numeric_limits<std::uint32_t>::max()) return false;  // nobody else takes them
  return own > least + 1 + least / 16;
}

}  // namespace corral
