#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "config/settings.hpp"

namespace corral {

// Applies the file's [[task]] entries to settings.tasks (the service's own tasks): one
// entry per task, named by `name`, each key optional and overriding what the code
// set. An unknown task, key or value is a ConfigError naming the key and the line.
void apply_task_entries(const toml::table& root, const std::string& source, Settings& settings);

// "30s", "1.5s", "500ms", "5m", "2h", "1d"; nullopt if it is none of these.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace corral
