#pragma once

#include <sys/types.h>

#include <span>
#include <string>
#include <vector>

namespace corral {

// Starts `executable` with `arguments` (argv[1..]) as a child process that inherits
// exactly `inherited_fds` (every other fd of ours is close-on-exec), with an empty
// signal mask and default signal dispositions. posix_spawn, so that nothing of this
// process (its logger, its state) runs in the child before exec.
pid_t spawn_process(const std::string& executable, const std::string& argv0,
                    const std::vector<std::string>& arguments, std::span<const int> inherited_fds);

}  // namespace corral
