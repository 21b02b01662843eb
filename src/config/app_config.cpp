#include "config/app_config.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "config/config_error.hpp"

namespace corral {
namespace {

// The signals a program can be asked to stop with; the rest end it without a choice
// (SIGKILL) or mean something else to corral's own workers.
constexpr std::pair<const char*, int> stop_signals[] = {
    {"TERM", SIGTERM}, {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"HUP", SIGHUP},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"WINCH", SIGWINCH},
};

[[noreturn]] void fail(const std::string& source, const toml::node& node, std::string_view key,
                       const std::string& problem) {
  throw ConfigError(source, node.source().begin.line, key.empty() ? "app" : fmt::format("app.{}", key), problem);
}

bool executable_file(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

int parse_stop_signal(std::string_view name) {
  auto bare = name.starts_with("SIG") ? name.substr(3) : name;
  for (const auto& [signal_name, number] : stop_signals) {
    if (bare == signal_name) return number;
  }
  throw std::invalid_argument(fmt::format("\"{}\" is not a stop signal; use SIGTERM, SIGINT, SIGQUIT, SIGHUP, "
                                          "SIGUSR1, SIGUSR2 or SIGWINCH",
                                          name));
}

void apply_app_table(const toml::table& root, const std::string& source, Settings& settings) {
  const auto* node = root.get("app");
  if (node == nullptr) return;
  const auto* app = node->as_table();
  if (app == nullptr) fail(source, *node, "", "[app] must be a table");
  auto& out = settings.app;
  if (const auto* command = app->get("command")) {
    const auto* items = command->as_array();
    if (items == nullptr || items->empty()) {
      fail(source, *command, "command", "must be a non-empty array of strings, such as [\"node\", \"server.js\"]");
    }
    out.command.clear();
    for (const auto& item : *items) {
      if (!item.is_string() || item.as_string()->get().empty()) {
        fail(source, item, "command", "every item must be a non-empty string");
      }
      out.command.push_back(item.as_string()->get());
    }
  }
  if (const auto* directory = app->get("working_directory")) {
    if (!directory->is_string() || !std::filesystem::path(directory->as_string()->get()).is_absolute()) {
      fail(source, *directory, "working_directory", "must be an absolute path");
    }
    out.working_directory = directory->as_string()->get();
  }
  if (const auto* environment = app->get("environment")) {
    const auto* table = environment->as_table();
    if (table == nullptr) fail(source, *environment, "environment", "must be a table of NAME = \"value\"");
    for (const auto& [name, value] : *table) {
      const auto text = std::string(name.str());
      if (!value.is_string()) fail(source, value, "environment", fmt::format("{} must be a string", text));
      if (text.empty() || text.find('=') != std::string::npos) {
        fail(source, value, "environment", fmt::format("\"{}\" is not a variable name", text));
      }
      if (text.starts_with("LISTEN_") || text == "NOTIFY_SOCKET" || text.starts_with("WATCHDOG_") ||
          text.starts_with("CORRAL_WORKER_")) {
        fail(source, value, "environment", fmt::format("{} is set by corral for each worker", text));
      }
      out.environment[text] = value.as_string()->get();
    }
  }
  if (const auto* ready = app->get("ready")) {
    const auto* text = ready->as_string();
    if (text == nullptr || (text->get() != "notify" && text->get() != "started")) {
      fail(source, *ready, "ready",
           "must be \"notify\" (ready at READY=1 on $NOTIFY_SOCKET) or \"started\" (ready when started)");
    }
    out.ready = text->get() == "notify" ? AppReady::notify : AppReady::started;
  }
  if (const auto* stop = app->get("stop_signal")) {
    if (!stop->is_string()) fail(source, *stop, "stop_signal", "must be a signal name such as \"SIGTERM\"");
    try {
      out.stop_signal = parse_stop_signal(stop->as_string()->get());
    } catch (const std::invalid_argument& error) {
      fail(source, *stop, "stop_signal", error.what());
    }
  }
}

void check_app_settings(const Settings& settings, const std::string& source) {
  if (!settings.app.enabled()) {
    if (!settings.app.working_directory.empty() || !settings.app.environment.empty()) {
      throw ConfigError(source, 0, "app.command",
                        "[app] sets a working directory or environment but no command to run");
    }
    return;
  }
  if (settings.max_requests > 0) {
    throw ConfigError(source, 0, "max_requests",
                      "cannot apply to an app: corral does not see its requests; recycle app workers with max_rss, "
                      "or let the program exit after N requests (it is replaced)");
  }
}

std::string find_app_program(const AppSettings& app, const std::string& source) {
  const auto& program = app.command.at(0);
  const auto fail_with = [&](const std::string& problem) -> std::string {
    throw ConfigError(source, 0, "app.command", fmt::format("\"{}\" {}", program, problem));
  };
  if (program.find('/') != std::string::npos) {
    std::filesystem::path path(program);
    if (path.is_relative() && !app.working_directory.empty()) path = app.working_directory / path;
    if (!executable_file(path)) fail_with(fmt::format("is not an executable file ({})", path.string()));
    return path.string();
  }
  const char* search = std::getenv("PATH");
  std::istringstream directories(search ? search : "/usr/local/bin:/usr/bin:/bin");
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    const auto candidate = std::filesystem::path(directory.empty() ? "." : directory) / program;
    if (executable_file(candidate)) return candidate.string();
  }
  return fail_with(fmt::format("was not found on PATH ({}); install it or give its full path",
                               search ? search : "unset"));
}

}  // namespace corral
