#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "config/config_error.hpp"
#include "config/setting_table.hpp"
#include "config/settings.hpp"

namespace corral {

// Applies the keys of a TOML configuration file on top of `settings`: one key per row
// of `table`. Every key is checked (type and range); an unknown key is an error too,
// so a typo is not silently ignored. Throws ConfigError.
void apply_config_file(const SettingTable& table, const std::filesystem::path& path, Settings& settings);
void apply_config_text(const SettingTable& table, std::string_view text, const std::string& source,
                       Settings& settings);

}  // namespace corral
