#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "config/settings.hpp"

namespace corral {

// The keys of [app] that apply_app_table reads (a service's own settings may add
// others to the table).
inline constexpr const char* app_keys[] = {"app.command", "app.working_directory", "app.environment", "app.ready",
                                           "app.stop_signal"};

// Applies the file's [app] table to settings.app. A bad value is a ConfigError naming
// the key (app.command, ...) and its line.
void apply_app_table(const toml::table& root, const std::string& source, Settings& settings);

// "SIGTERM", "TERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH":
// the signal's number; throws std::invalid_argument saying what is accepted.
int parse_stop_signal(std::string_view name);

// The checks of an app's settings that need no file: a program is named, max_requests
// is off (corral cannot count an app's requests). Throws ConfigError naming the key.
void check_app_settings(const Settings& settings, const std::string& source);

// Where execvp(3) would find `program` (relative to `working_directory` when it has a
// '/'), or a ConfigError for app.command saying why it cannot be run.
std::string find_app_program(const AppSettings& app, const std::string& source);

}  // namespace corral
