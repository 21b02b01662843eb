#include "config/config_file.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace corral {
namespace {

std::string describe(const toml::node& node) {
  std::ostringstream text;
  node.visit([&text](const auto& value) { text << value; });
  return text.str();
}

// Reads the known keys from a parsed file, remembering which it read, so that whatever
// is left over can be reported as unknown.
class KeyReader {
 public:
  KeyReader(const toml::table& root, std::string source) : root_(root), source_(std::move(source)) {}

  void text(std::string_view key, std::string& target) {
    if (const auto* node = find(key)) {
      const auto* value = node->as_string();
      if (!value) fail(*node, key, fmt::format("must be a string in quotes (got {})", describe(*node)));
      target = value->get();
    }
  }

  void boolean(std::string_view key, bool& target) {
    if (const auto* node = find(key)) {
      const auto* value = node->as_boolean();
      if (!value) fail(*node, key, fmt::format("must be true or false (got {})", describe(*node)));
      target = value->get();
    }
  }

  template <class T>
  void whole_number(std::string_view key, T& target, Bounds<T> bounds) {
    if (const auto* node = find(key)) {
      const auto* value = node->as_integer();
      if (!value || value->get() < static_cast<std::int64_t>(bounds.min) ||
          value->get() > static_cast<std::int64_t>(bounds.max)) {
        fail(*node, key, fmt::format("must be a whole number from {} to {} (got {})", bounds.min, bounds.max,
                                     describe(*node)));
      }
      target = static_cast<T>(value->get());
    }
  }

  void seconds(std::string_view key, milliseconds& target, Bounds<double> bounds) {
    if (const auto* node = find(key)) {
      const auto value = node->value<double>();  // integers convert too
      if (!node->is_number() || !value || *value < bounds.min || *value > bounds.max) {
        fail(*node, key, fmt::format("must be a number of seconds from {:g} to {:g} (got {})", bounds.min,
                                     bounds.max, describe(*node)));
      }
      target = milliseconds(std::llround(*value * 1000.0));
    }
  }

  void log_level(std::string_view key, spdlog::level::level_enum& target) {
    std::string name;
    const auto* node = find(key);
    if (node == nullptr) return;
    text(key, name);
    const auto level = parse_log_level(name);
    if (!level) fail(*node, key, fmt::format("must be one of {} (got \"{}\")", log_level_names, name));
    target = *level;
  }

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

ConfigError::ConfigError(const std::string& source, std::size_t line, const std::string& key, const std::string& problem)
    : std::runtime_error(key.empty() ? fmt::format("{}:{}: {}", source, line, problem)
                                     : fmt::format("{}:{}: {}: {}", source, line, key, problem)) {}

void apply_config_text(std::string_view text, const std::string& source, Settings& s) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    throw ConfigError(source, error.source().begin.line, "",
                      fmt::format("not valid TOML: {}", error.description()));
  }
  KeyReader keys(root, source);
  keys.text("listen", s.listen);
  keys.whole_number("backlog", s.backlog, bounds::backlog);
  keys.whole_number("workers", s.workers, bounds::workers);
  keys.seconds("drain_timeout", s.drain_timeout, bounds::drain_seconds);
  keys.seconds("start_timeout", s.start_timeout, bounds::start_seconds);
  keys.seconds("hang_timeout", s.hang_timeout, bounds::hang_seconds);
  keys.whole_number("restart_limit", s.restart_limit, bounds::restart_limit);
  keys.seconds("restart_window", s.restart_window, bounds::restart_window_seconds);
  keys.seconds("min_uptime", s.min_uptime, bounds::min_uptime_seconds);
  keys.seconds("terminal_timeout", s.terminal_timeout, bounds::terminal_seconds);
  keys.whole_number("max_requests", s.max_requests, bounds::max_requests);
  keys.whole_number("max_rss", s.max_rss_mib, bounds::max_rss_mib);
  keys.log_level("log_level", s.log_level);
  keys.boolean("enable_debug_routes", s.enable_debug_routes);
  keys.whole_number("http.max_header_bytes", s.http.max_header_bytes, bounds::header_bytes);
  keys.whole_number("http.max_body_bytes", s.http.max_body_bytes, bounds::body_bytes);
  keys.seconds("http.keepalive_timeout", s.http.keepalive_timeout, bounds::keepalive_seconds);
  keys.seconds("http.request_timeout", s.http.request_timeout, bounds::io_seconds);
  keys.seconds("http.send_timeout", s.http.send_timeout, bounds::io_seconds);
  keys.reject_unknown();
}

void apply_config_file(const std::filesystem::path& path, Settings& settings) {
  std::ifstream in(path);
  if (!in) {
    throw ConfigError(path.string(), 0, "",
                      fmt::format("cannot be read ({}); check the path given to --config", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  apply_config_text(text.str(), path.string(), settings);
}

}  // namespace corral
