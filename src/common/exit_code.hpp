#pragma once

namespace corral::exit_code {

// Documented in docs/operations.md; systemd shows them as status=N.
inline constexpr int ok = 0;
inline constexpr int failure = 1;       // a runtime error, logged before exit
inline constexpr int usage = 2;         // bad flags or configuration
inline constexpr int worker_start_failed = 3;  // a worker's own start-up failed: back off

}  // namespace corral::exit_code
