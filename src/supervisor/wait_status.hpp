#pragma once

#include <chrono>
#include <string>

namespace corral {

// "SIGTERM", or "signal 64" for one without a name.
std::string signal_name(int signal);
// How a child ended, from waitpid()'s status: "exited with code 3",
// "was killed by SIGSEGV (core dumped)".
std::string describe_wait_status(int status);
bool exited_cleanly(int status);
// "2.5 s", for log lines.
std::string seconds_text(std::chrono::milliseconds value);

}  // namespace corral
