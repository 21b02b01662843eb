#include "config/config_file.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/app_config.hpp"
#include "config/task_config.hpp"

namespace corral {
namespace {

std::string describe(const toml::node& node) {
  if (const auto* text = node.as_string()) return "\"" + text->get() + "\"";
  std::ostringstream text;
  node.visit([&text](const auto& value) { text << value; });
  return text.str();
}

// Reads the known keys from a parsed file, remembering which it read, so that whatever
// is left over can be reported as unknown.
class KeyReader {
 public:
  KeyReader(const toml::table& root, std::string source) : root_(root), source_(std::move(source)) {}

  // Reads the row's key, if the file has it, into `settings`.
  void read(const SettingRow& row, Settings& settings) {
    const auto* node = find(row.key);
    if (node == nullptr) return;
    const auto reject = [&] { fail(*node, row.key, fmt::format("{} (got {})", describe_accepted(row), describe(*node))); };
    switch (row.kind) {
      case SettingKind::text:
        if (!node->is_string()) reject();
        if (row.check) {
          try {
            row.check(node->as_string()->get());
          } catch (const std::invalid_argument& error) {
            fail(*node, row.key, error.what());
          }
        }
        row.set(settings, node->as_string()->get());
        return;
      case SettingKind::log_level:
        if (!node->is_string() || !parse_log_level(node->as_string()->get())) reject();
        row.set(settings, node->as_string()->get());
        return;
      case SettingKind::boolean:
        if (!node->is_boolean()) reject();
        row.set(settings, node->as_boolean()->get());
        return;
      case SettingKind::whole: {
        const auto* value = node->as_integer();
        if (!value || static_cast<double>(value->get()) < row.min || static_cast<double>(value->get()) > row.max) {
          reject();
        }
        row.set(settings, static_cast<std::int64_t>(value->get()));
        return;
      }
      case SettingKind::seconds: {
        const auto value = node->value<double>();  // integers convert too
        if (!node->is_number() || !value || *value < row.min || *value > row.max) reject();
        row.set(settings, milliseconds(std::llround(*value * 1000.0)));
        return;
      }
    }
  }

  // Marks a key as read by someone else (the [[task]] array).
  void claim(std::string_view key) { read_.insert(std::string(key)); }

  // Any key of the file that no call above asked for.
  void reject_unknown() const { reject_unknown_in(root_, ""); }

 private:
  const toml::node* find(std::string_view key) {
    read_.insert(std::string(key));
    return root_.at_path(key).node();
  }

  void reject_unknown_in(const toml::table& table, const std::string& prefix) const {
    for (const auto& [name, node] : table) {
      const auto key = prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
      if (read_.contains(key)) continue;
      if (const auto* nested = node.as_table(); nested && is_known_table(key)) {
        reject_unknown_in(*nested, key);
        continue;
      }
      fail(node, key, "unknown key (see docs/configuration.md for the keys corral reads)");
    }
  }

  bool is_known_table(const std::string& key) const {
    const auto prefix = key + ".";
    return std::any_of(read_.begin(), read_.end(), [&](const std::string& read) { return read.starts_with(prefix); });
  }

  [[noreturn]] void fail(const toml::node& node, std::string_view key, const std::string& problem) const {
    throw ConfigError(source_, node.source().begin.line, std::string(key), problem);
  }

  const toml::table& root_;
  std::string source_;
  std::set<std::string, std::less<>> read_;
};

}  // namespace

void apply_config_text(const SettingTable& table, std::string_view text, const std::string& source, Settings& s) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    throw ConfigError(source, error.source().begin.line, "",
                      fmt::format("not valid TOML: {}", error.description()));
  }
  KeyReader keys(root, source);
  for (const auto& row : table.rows()) keys.read(row, s);
  keys.claim("task");
  apply_task_entries(root, source, s);
  for (const char* key : app_keys) keys.claim(key);
  apply_app_table(root, source, s);
  keys.reject_unknown();
}

void apply_config_file(const SettingTable& table, const std::filesystem::path& path, Settings& settings) {
  std::ifstream in(path);
  if (!in) {
    throw ConfigError(path.string(), 0, "",
                      fmt::format("cannot be read ({}); check the path given to --config", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  apply_config_text(table, text.str(), path.string(), settings);
}

}  // namespace corral
