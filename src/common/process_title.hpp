#pragma once

#include <string_view>

namespace corral::process_title {

// Takes over the memory of argv (and of the environment strings, which are copied to
// the heap first) so that set() can rewrite what ps and systemctl status show, the way
// nginx and PostgreSQL do. Call init() first thing in main().
void init(int argc, char** argv);
void set(std::string_view title);

}  // namespace corral::process_title
