#pragma once

#include <string_view>

namespace corral {

enum class LogLevel { debug, info, warning, error };

// One line in corral's log: the journal under systemd (with the worker's pid, slot and
// generation as fields, so `journalctl -u NAME CORRAL_SLOT=2` works), the console
// otherwise. Lines below the configured log_level are dropped.
void log(LogLevel level, std::string_view message);

}  // namespace corral
