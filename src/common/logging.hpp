#pragma once

#include <cstdint>
#include <string>

#include <spdlog/common.h>

namespace corral {

struct LogIdentity {
  std::string role;  // "supervisor" or "worker"
  std::string program = "corral";  // the journal's SYSLOG_IDENTIFIER
  int slot = -1;     // workers only
  std::uint32_t generation = 0;
};

// Makes spdlog's default logger write one line per event to stderr, named after the
// process ("supervisor", "worker 2") so interleaved lines of the pool stay readable.
// Synchronous on purpose: a logger thread must never be alive across fork().
void init_logging(const LogIdentity& identity, spdlog::level::level_enum level);

}  // namespace corral
