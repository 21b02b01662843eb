#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/settings.hpp"

namespace corral {

enum class SettingKind {
  text,       // a string
  whole,      // an integer within [min, max]
  seconds,    // a number of seconds (fractions allowed) within [min, max], kept in ms
  boolean,    // true/false; a flag without a value on the command line
  log_level,  // one of log_level_names
};

// One setting, described once: this row makes its flag, its TOML key, its default, its
// bounds, its help and what a worker receives.
struct SettingRow {
  std::string key;   // TOML key; dotted for a table: "http.max_body_bytes"
  std::string flag;  // "--max-body-bytes"
  std::string help;
  SettingKind kind = SettingKind::text;
  double min = 0;  // whole and seconds only
  double max = 0;
  SettingValue default_value;
  std::function<SettingValue(const Settings&)> get;
  std::function<void(Settings&, const SettingValue&)> set;
  bool hidden = false;  // a test aid, left out of --help
  // Text only: throws std::invalid_argument saying what is accepted.
  std::function<void(std::string_view)> check = {};
};

// Every setting: corral's own, then the service's.
class SettingTable {
 public:
  SettingTable();  // corral's own rows

  // A service's setting, kept in Settings::service_values under its key. Throws
  // std::invalid_argument if its key or flag is taken or malformed.
  void add_service_setting(SettingRow row);

  // A task the service defines (Service::task); the file's [[task]] entries may only
  // name these. Throws std::invalid_argument for a name taken or malformed.
  void add_task(tasks::TaskSpec spec);
  const std::vector<tasks::TaskSpec>& tasks() const { return tasks_; }

  const std::vector<SettingRow>& rows() const { return rows_; }
  const SettingRow* find_key(std::string_view key) const;
  // Settings with every row at its default.
  Settings defaults() const;

 private:
  std::vector<SettingRow> rows_;
  std::vector<tasks::TaskSpec> tasks_;
};

// "1.5" for 1500 ms, "8192", "true", "info": how a value is written as a flag's value.
std::string format_setting(const SettingRow& row, const SettingValue& value);
// Parses a flag's value for `row`; throws std::invalid_argument saying what is wanted.
SettingValue parse_setting(const SettingRow& row, std::string_view text);
// "must be a whole number from 1 to 65535", for error messages.
std::string describe_accepted(const SettingRow& row);

}  // namespace corral
