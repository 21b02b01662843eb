#pragma once

#include <vector>

#include "common/unique_fd.hpp"

namespace corral::sd {

// The sockets systemd passed: the public ones, and the metrics socket, named by
// FileDescriptorName=metrics in corral-metrics.socket.
struct ListenFds {
  std::vector<UniqueFd> http;
  UniqueFd metrics;  // not valid() when there is none
};

// Takes exactly the fds systemd passed to this process (sd_listen_fds_with_names),
// checks that each is a listening IP stream socket, and marks them close-on-exec
// (workers get the public ones explicitly). Empty when corral was not
// socket-activated, including when LISTEN_PID names another process. Throws
// std::runtime_error naming the first unusable fd. The LISTEN_* variables are removed
// from the environment either way.
ListenFds adopt_listen_fds();

}  // namespace corral::sd
