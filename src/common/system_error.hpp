#pragma once

#include <string_view>

namespace corral {

// Throws std::system_error for the current errno. The message names the failing call
// and what corral was doing, e.g. "socketpair() failed while creating the channel for
// worker 2: Too many open files".
[[noreturn]] void throw_system_error(std::string_view call, std::string_view attempt);
[[noreturn]] void throw_system_error(int error, std::string_view call, std::string_view attempt);

}  // namespace corral
