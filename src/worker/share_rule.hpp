#pragma once

#include <cstdint>
#include <span>

namespace corral {

// The rule that spreads new connections over the workers (see ipc/load_board.hpp for
// why the kernel alone does not): pure, so it is tested without processes.

// What a worker sees of another on the board.
struct PeerLoad {
  std::uint32_t connections = 0;
  std::int64_t busy_since_ms = 0;  // 0: waiting for events
};

// A peer whose loop has been busy this long without waiting for events is taken to be
// hung: it is not counted, so its few connections cannot stop the others from taking
// new ones (the supervisor's hang timeout replaces it later).
inline constexpr std::int64_t stuck_after_ms = 100;

// True if a worker holding `own` connections should leave new ones to `peers` (the
// other workers that accept): it holds more than the least loaded live peer plus a
// margin of 1 and a sixteenth, so that a few connections' difference never stops it.
// The least loaded worker never pauses, so some worker always takes connections.
bool holds_more_than_its_share(std::uint32_t own, std::span<const PeerLoad> peers, std::int64_t now_ms);

}  // namespace corral
