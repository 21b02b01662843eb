#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace corral {

// What a child process is started with.
struct SpawnRequest {
  std::string executable;
  std::string argv0;
  std::vector<std::string> arguments;  // argv[1..]
  std::vector<int> inherited_fds;      // kept at their numbers
  std::vector<int> fds_from_3;         // given to the child as fd 3, 4, ... in order (LISTEN_FDS)
  std::optional<std::vector<std::string>> environment;  // NAME=value; nullopt: ours
  std::string working_directory;       // empty: ours
};

// Starts the child, which inherits exactly the fds named (every other fd of ours is
// close-on-exec), with an empty signal mask and default signal dispositions.
// posix_spawn, so that nothing of this process (its logger, its state) runs in the
// child before exec. Throws std::system_error naming the failing call.
pid_t spawn_process(const SpawnRequest& request);

}  // namespace corral
