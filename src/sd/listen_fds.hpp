#pragma once

#include <vector>

#include "common/unique_fd.hpp"

namespace corral::sd {

// Takes exactly the fds systemd passed to this process (sd_listen_fds), checks that each
// is a listening IP stream socket, and marks them close-on-exec (workers get them
// explicitly). Empty when corral was not socket-activated, including when LISTEN_PID
// names another process. Throws std::runtime_error naming the first unusable fd.
// The LISTEN_* variables are removed from the environment either way.
std::vector<UniqueFd> adopt_listen_fds();

}  // namespace corral::sd
