#include "config/command_line.hpp"

#include <algorithm>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/exit_code.hpp"
#include "config/app_config.hpp"
#include "config/config_error.hpp"
#include "config/config_file.hpp"
#include "version.hpp"

namespace corral {
namespace {

// A command task as a worker receives it: its name and its program's arguments,
// separated by ASCII's unit separator, which the file may not use in a command.
constexpr char command_separator = '\x1f';

struct Parsed {
  std::vector<std::string> command_tasks;
  std::optional<WorkerIdentity> worker;
  std::optional<std::string> config_path;
  bool check_config = false;
};

std::string type_name(const SettingRow& row) {
  switch (row.kind) {
    case SettingKind::whole: return fmt::format("N:{:.0f}..{:.0f}", row.min, row.max);
    case SettingKind::seconds: return fmt::format("SECONDS:{:g}..{:g}", row.min, row.max);
    case SettingKind::log_level: return "LEVEL";
    default: return "TEXT";
  }
}

const SettingTable& table_of(const ProgramDescription& program) {
  static const SettingTable core;
  return program.table ? *program.table : core;
}

// Applies the flags in `arguments` to `s`; flags that are absent leave `s` as it is.
Parsed apply_flags(const std::vector<std::string>& arguments, const ProgramDescription& program, Settings& s) {
  const auto& table = table_of(program);
  CLI::App app{fmt::format("{}: {}\nRun by systemd through its .socket unit, or on its own for development.",
                           program.name, program.summary),
               program.name};
  app.set_version_flag("--version", fmt::format("{} (corral {})", program.name, version));
  Parsed parsed;

  std::string config_path;
  auto* config = app.add_option("--config", config_path, "TOML configuration file (keys: docs/configuration.md)");
  std::string check_path;
  auto* check = app.add_option("--check-config", check_path,
                               "check the configuration (of FILE, or of --config) and exit: 0 if usable")
                    ->expected(0, 1);

  // One option per row; values are kept as text and parsed by the row after CLI11.
  std::vector<std::pair<const SettingRow*, CLI::Option*>> options;
  std::vector<std::string> texts(table.rows().size());
  std::vector<int> switches(table.rows().size(), 0);  // CLI11 counts a flag's uses
  for (std::size_t i = 0; i < table.rows().size(); ++i) {
    const auto& row = table.rows()[i];
    CLI::Option* option = nullptr;
    if (row.kind == SettingKind::boolean) {
      option = app.add_flag(row.flag, switches[i], row.help);
    } else {
      option = app.add_option(row.flag, texts[i], row.help)
                   ->type_name(type_name(row))
                   ->default_str(format_setting(row, row.default_value))
                   ->check([&row](const std::string& text) {
                     try {
                       parse_setting(row, text);
                       return std::string{};
                     } catch (const std::invalid_argument& error) {
                       return std::string(error.what());
                     }
                   });
    }
    if (row.hidden) option->group("");
    options.emplace_back(&row, option);
  }

  // Set by the supervisor when it starts a worker; not for people.
  WorkerIdentity worker;
  bool is_worker = false;
  const std::string internal;  // an empty group hides these from --help
  app.add_flag("--worker", is_worker)->group(internal);
  app.add_option("--worker-slot", worker.slot)->group(internal);
  app.add_option("--worker-generation", worker.generation)->group(internal);
  app.add_option("--supervisor-pid", worker.supervisor_pid)->group(internal);
  app.add_option("--listen-fd", worker.listen_fds)->group(internal);
  app.add_option("--channel-fd", worker.channel_fd)->group(internal);
  app.add_option("--load-board-fd", worker.load_board_fd)->group(internal);
  app.add_option("--command-task", parsed.command_tasks)->group(internal);

  try {
    // CLI11 takes the arguments last to first.
    std::vector<std::string> reversed(arguments.rbegin(), arguments.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    throw ExitRequest{code == 0 ? exit_code::ok : exit_code::usage};
  }
  for (std::size_t i = 0; i < options.size(); ++i) {
    const auto& [row, option] = options[i];
    if (option->count() == 0) continue;
    row->set(s, row->kind == SettingKind::boolean ? SettingValue(switches[i] != 0) : parse_setting(*row, texts[i]));
  }
  if (is_worker) parsed.worker = worker;
  parsed.check_config = check->count() > 0;
  if (!check_path.empty()) {
    parsed.config_path = check_path;
  } else if (config->count() > 0) {
    parsed.config_path = config_path;
  }
  return parsed;
}

}  // namespace

CommandLine parse_arguments(const std::vector<std::string>& arguments, const ProgramDescription& program) {
  const auto& table = table_of(program);
  CommandLine result;
  result.arguments = arguments;
  result.settings = table.defaults();
  // `corral [flags] -- node server.js`: what follows `--` is the app's command.
  const auto separator = std::find(arguments.begin(), arguments.end(), "--");
  const std::vector<std::string> flags(arguments.begin(), separator);
  std::vector<std::string> command;
  if (separator != arguments.end()) {
    command.assign(separator + 1, arguments.end());
    if (command.empty()) {
      std::fprintf(stderr, "%s: `--` must be followed by the program to run as the workers, such as "
                   "`-- node server.js`\n", program.name.c_str());
      throw ExitRequest{exit_code::usage};
    }
  }
  // First pass: which file? Second pass: the flags again, on top of the file's values.
  Settings scratch = table.defaults();
  const auto first = apply_flags(flags, program, scratch);
  if (first.config_path) apply_config_file(table, *first.config_path, result.settings);
  const auto parsed = apply_flags(flags, program, result.settings);
  if (!command.empty()) result.settings.app.command = std::move(command);
  check_app_settings(result.settings, first.config_path ? *first.config_path : std::string("the command line"));
  if (result.settings.debug_fail_start && !result.settings.enable_debug_routes) {
    std::fprintf(stderr, "%s: --debug-fail-start is a test aid: it needs --enable-debug-routes too\n",
                 program.name.c_str());
    throw ExitRequest{exit_code::usage};
  }
  for (const auto& encoded : parsed.command_tasks) {
    // Only the program matters in a worker: the supervisor schedules.
    std::vector<std::string> fields;
    for (std::size_t start = 0;;) {
      const auto end = encoded.find(command_separator, start);
      fields.push_back(encoded.substr(start, end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    if (fields.size() < 2) continue;
    result.settings.tasks.push_back(tasks::TaskSpec{fields.front(), Schedule::every(std::chrono::hours(1)), {},
                                                    std::vector<std::string>(fields.begin() + 1, fields.end())});
  }
  result.worker = parsed.worker;
  result.config_path = parsed.config_path;
  result.check_config = parsed.check_config;
  return result;
}

CommandLine parse_command_line(int argc, const char* const* argv, const ProgramDescription& program) {
  return parse_arguments(std::vector<std::string>(argv + 1, argv + argc), program);
}

std::vector<std::string> worker_arguments(const SettingTable& table, const Settings& settings,
                                          const WorkerIdentity& worker) {
  std::vector<std::string> args{
      "--worker",
      "--worker-slot", std::to_string(worker.slot),
      "--worker-generation", std::to_string(worker.generation),
      "--supervisor-pid", std::to_string(worker.supervisor_pid),
      "--channel-fd", std::to_string(worker.channel_fd),
  };
  if (worker.load_board_fd >= 0) {
    args.push_back("--load-board-fd");
    args.push_back(std::to_string(worker.load_board_fd));
  }
  for (const int fd : worker.listen_fds) {
    args.push_back("--listen-fd");
    args.push_back(std::to_string(fd));
  }
  for (const auto& task : settings.tasks) {
    if (task.command.empty()) continue;
    args.push_back("--command-task");
    args.push_back(task.name);
    for (const auto& argument : task.command) args.back() += command_separator + argument;
  }
  for (const auto& row : table.rows()) {
    const auto value = row.get(settings);
    if (row.kind == SettingKind::boolean) {
      if (std::get<bool>(value)) args.push_back(row.flag);
      continue;
    }
    args.push_back(row.flag);
    args.push_back(format_setting(row, value));
  }
  return args;
}

}  // namespace corral
