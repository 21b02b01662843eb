#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "tasks/next_run.hpp"

namespace corral::tasks {

// Per task, the latest run taken: kept in the state directory so that, after corral
// was down, it knows which runs it missed. One "NAME MS_SINCE_EPOCH" line per task.
using LastDue = std::map<std::string, WallTime, std::less<>>;

// Missing file: empty. Lines that do not parse are skipped (the file is ours, and a
// lost line only costs one catch-up run). A file that is there but cannot be read
// throws std::system_error naming it.
LastDue load_last_due(const std::filesystem::path& file);
// Written whole to a temporary file, synced, and renamed over the old one (the
// directory synced too), so a crash or a power loss leaves one or the other whole.
// Throws std::system_error naming the file.
void save_last_due(const std::filesystem::path& file, const LastDue& last_due);

}  // namespace corral::tasks
