#include <gtest/gtest.h>

#include <sstream>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <csignal>

#include "config/app_config.hpp"
#include "config/command_line.hpp"
#include "config/config_error.hpp"
#include "config/config_file.hpp"
#include "config/task_config.hpp"

namespace corral {
namespace {

std::string error_of(std::string_view text) {
  Settings settings;
  try {
    apply_config_text(SettingTable{}, text, "corral.toml", settings);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "accepted";
}

TEST(ConfigFile, EveryKeyIsRead) {
  Settings s;
  apply_config_text(SettingTable{}, R"(
listen = "[::1]:8080"
backlog = 128
workers = 3
drain_timeout = 2.5
start_timeout = 20
hang_timeout = 15
restart_limit = 7
restart_window = 20
min_uptime = 0.5
terminal_timeout = 45
max_requests = 1000
max_rss = 256
log_level = "warning"
enable_debug_routes = true

[http]
max_header_bytes = 4096
max_body_bytes = 0
keepalive_timeout = 0
request_timeout = 1.5
send_timeout = 7
)",
                    "corral.toml", s);
  EXPECT_EQ(s.listen, "[::1]:8080");
  EXPECT_EQ(s.backlog, 128);
  EXPECT_EQ(s.workers, 3u);
  EXPECT_EQ(s.drain_timeout, milliseconds(2500));
  EXPECT_EQ(s.start_timeout, milliseconds(20000));
  EXPECT_EQ(s.hang_timeout, milliseconds(15000));
  EXPECT_EQ(s.restart_limit, 7u);
  EXPECT_EQ(s.restart_window, milliseconds(20000));
  EXPECT_EQ(s.min_uptime, milliseconds(500));
  EXPECT_EQ(s.terminal_timeout, milliseconds(45000));
  EXPECT_EQ(s.max_requests, 1000u);
  EXPECT_EQ(s.max_rss_mib, 256u);
  EXPECT_EQ(s.log_level, spdlog::level::warn);
  EXPECT_TRUE(s.enable_debug_routes);
  EXPECT_EQ(s.http.max_header_bytes, 4096u);
  EXPECT_EQ(s.http.max_body_bytes, 0u);
  EXPECT_EQ(s.http.keepalive_timeout, milliseconds(0));
  EXPECT_EQ(s.http.request_timeout, milliseconds(1500));
  EXPECT_EQ(s.http.send_timeout, milliseconds(7000));
}

TEST(ConfigFile, AbsentKeysKeepTheirValues) {
  Settings s;
  s.workers = 5;
  apply_config_text(SettingTable{}, "drain_timeout = 1\n", "corral.toml", s);
  EXPECT_EQ(s.workers, 5u);
  EXPECT_EQ(s.drain_timeout, milliseconds(1000));
}

TEST(ConfigFile, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(error_of("workers = 2\n\nworkers_typo = 3\n"),
            "corral.toml:3: workers_typo: unknown key (see docs/configuration.md for the keys corral reads)");
  EXPECT_EQ(error_of("[http]\nmax_body_bytes = \"big\"\n"),
            "corral.toml:2: http.max_body_bytes: must be a whole number from 0 to 1073741824 (got \"big\")");
  EXPECT_EQ(error_of("workers = 5000\n"), "corral.toml:1: workers: must be a whole number from 0 to 1024 (got 5000)");
  EXPECT_EQ(error_of("workers = -1\n"), "corral.toml:1: workers: must be a whole number from 0 to 1024 (got -1)");
  EXPECT_EQ(error_of("drain_timeout = \"30s\"\n"),
            "corral.toml:1: drain_timeout: must be a number of seconds from 0 to 3600 (got \"30s\")");
  EXPECT_EQ(error_of("log_level = \"loud\"\n"),
            "corral.toml:1: log_level: must be one of trace, debug, info, warning, error or critical (got \"loud\")");
  EXPECT_EQ(error_of("enable_debug_routes = 1\n"), "corral.toml:1: enable_debug_routes: must be true or false (got 1)");
  EXPECT_EQ(error_of("[http]\nmax_header_bytz = 1\n"), "corral.toml:2: http.max_header_bytz: unknown key (see docs/configuration.md for the keys corral reads)");
  EXPECT_EQ(error_of("[htp]\nmax_header_bytes = 1\n"), "corral.toml:1: htp: unknown key (see docs/configuration.md for the keys corral reads)");
  EXPECT_NE(error_of("workers = [\n").find("corral.toml:1: not valid TOML"), std::string::npos);
  EXPECT_EQ(error_of("workers = 2\nstore = \"mysql://db\"\n"),
            "corral.toml:2: store: store \"mysql://db\": use \"sqlite\", \"redis://[USER@]HOST[:PORT][/DB]\", "
            "\"unix:///PATH[?db=DB]\" or \"redis-sentinel://HOST[:PORT],HOST[:PORT],.../MASTER[?db=DB]\"");
}

TEST(ConfigFile, MissingFileSaysSo) {
  Settings s;
  try {
    apply_config_file(SettingTable{}, "/nonexistent/corral.toml", s);
    FAIL() << "accepted";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("/nonexistent/corral.toml: cannot be read"), std::string::npos);
  }
}

TEST(ConfigFile, FlagsOverrideTheFileWhichOverridesDefaults) {
  const auto path = std::filesystem::temp_directory_path() / ("corral-test-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << "workers = 3\ndrain_timeout = 7\n";
  const auto command_line = parse_arguments({"--config", path.string(), "--workers", "4"});
  std::filesystem::remove(path);
  EXPECT_EQ(command_line.settings.workers, 4u) << "flag over file";
  EXPECT_EQ(command_line.settings.drain_timeout, milliseconds(7000)) << "file over default";
  EXPECT_EQ(command_line.settings.http.max_body_bytes, 1048576u) << "default";
  EXPECT_EQ(command_line.config_path, path.string());
}

TEST(ConfigFile, CheckConfigTakesAnOptionalFile) {
  const auto path = std::filesystem::temp_directory_path() / ("corral-check-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << "workers = 6\n";
  const auto with_file = parse_arguments({"--check-config", path.string()});
  EXPECT_TRUE(with_file.check_config);
  EXPECT_EQ(with_file.settings.workers, 6u);
  const auto with_config = parse_arguments({"--config", path.string(), "--check-config"});
  EXPECT_TRUE(with_config.check_config);
  EXPECT_EQ(with_config.settings.workers, 6u);
  std::filesystem::remove(path);
}

// The settings table is the one description of every setting; the page that documents
// them must follow it.
TEST(ConfigurationPage, DocumentsEveryRowOfTheTable) {
  const char* source_root = std::getenv("CORRAL_SOURCE_ROOT");
  ASSERT_NE(source_root, nullptr) << "meson test sets CORRAL_SOURCE_ROOT";
  std::ifstream page(std::string(source_root) + "/docs/configuration.md");
  std::stringstream text;
  text << page.rdbuf();
  const SettingTable table;
  for (const auto& row : table.rows()) {
    if (!row.hidden) {
      EXPECT_NE(text.str().find("`" + row.key + "`"), std::string::npos) << row.key;
    }
    EXPECT_NE(text.str().find("`" + row.flag), std::string::npos) << row.flag;
  }
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

// etc/corral.toml, installed as /etc/corral/corral.toml, shows every key commented out
// with its default: uncommented, it must parse and change nothing.
TEST(ShippedConfigFile, ListsEveryKeyWithItsDefault) {
  const char* source_root = std::getenv("CORRAL_SOURCE_ROOT");
  ASSERT_NE(source_root, nullptr) << "meson test sets CORRAL_SOURCE_ROOT";
  std::ifstream in(std::filesystem::path(source_root) / "etc" / "corral.toml");
  ASSERT_TRUE(in);
  std::string uncommented;
  int keys = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.size() > 1 && line[0] == '#' && std::islower(static_cast<unsigned char>(line[1])) &&
        line.find(" = ") != std::string::npos) {
      line.erase(0, 1);
      ++keys;
    }
    uncommented += line + "\n";
  }
  Settings shipped;
  shipped.workers = 99;  // so that the file must set it back to 0
  apply_config_text(SettingTable{}, uncommented, "etc/corral.toml", shipped);
  const Settings defaults;
  EXPECT_EQ(keys, static_cast<int>(SettingTable{}.rows().size()) - 1) << "every row but the hidden test aid";
  EXPECT_EQ(shipped.restart_limit, defaults.restart_limit);
  EXPECT_EQ(shipped.restart_window, defaults.restart_window);
  EXPECT_EQ(shipped.min_uptime, defaults.min_uptime);
  EXPECT_EQ(shipped.terminal_timeout, defaults.terminal_timeout);
  EXPECT_EQ(shipped.max_requests, defaults.max_requests);
  EXPECT_EQ(shipped.max_rss_mib, defaults.max_rss_mib);
  EXPECT_EQ(shipped.workers, defaults.workers);
  EXPECT_EQ(shipped.listen, defaults.listen);
  EXPECT_EQ(shipped.backlog, defaults.backlog);
  EXPECT_EQ(shipped.drain_timeout, defaults.drain_timeout);
  EXPECT_EQ(shipped.start_timeout, defaults.start_timeout);
  EXPECT_EQ(shipped.hang_timeout, defaults.hang_timeout);
  EXPECT_EQ(shipped.log_level, defaults.log_level);
  EXPECT_EQ(shipped.enable_debug_routes, defaults.enable_debug_routes);
  EXPECT_EQ(shipped.http.max_header_bytes, defaults.http.max_header_bytes);
  EXPECT_EQ(shipped.http.max_body_bytes, defaults.http.max_body_bytes);
  EXPECT_EQ(shipped.http.keepalive_timeout, defaults.http.keepalive_timeout);
  EXPECT_EQ(shipped.http.request_timeout, defaults.http.request_timeout);
  EXPECT_EQ(shipped.http.send_timeout, defaults.http.send_timeout);
}

// A table with the tasks a service defined in code, and settings from it.
SettingTable table_with_tasks() {
  SettingTable table;
  table.add_task(tasks::TaskSpec{"purge-sessions", Schedule::every(std::chrono::seconds(60)), {}});
  table.add_task(tasks::TaskSpec{"report", Schedule::cron("0 3 * * *"), {}});
  return table;
}

std::string task_error_of(std::string_view text) {
  const auto table = table_with_tasks();
  auto settings = table.defaults();
  try {
    apply_config_text(table, text, "corral.toml", settings);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "accepted";
}

TEST(TaskConfig, EntriesOverrideTheTasksDefinedInCode) {
  const auto table = table_with_tasks();
  auto settings = table.defaults();
  apply_config_text(table, R"(
[[task]]
name = "purge-sessions"
every = "5m"
run_on = "all"
timeout = "90s"
jitter = 2.5
overlap = true
missed = "run-once"
retry = true
[[task]]
name = "report"
cron = "30 4 * * MON-FRI"
timezone = "Europe/Berlin"
enabled = false
)",
                    "corral.toml", settings);
  ASSERT_EQ(settings.tasks.size(), 2U);
  const auto& purge = settings.tasks[0];
  EXPECT_EQ(purge.schedule.period(), std::chrono::seconds(300));
  EXPECT_EQ(purge.options.run_on, RunOn::all);
  EXPECT_EQ(purge.options.timeout, std::chrono::seconds(90));
  EXPECT_EQ(purge.options.jitter, std::chrono::milliseconds(2500));
  EXPECT_TRUE(purge.options.overlap);
  EXPECT_EQ(purge.options.missed, MissedRuns::run_once);
  EXPECT_TRUE(purge.options.retry);
  const auto& report = settings.tasks[1];
  EXPECT_EQ(report.schedule.expression(), "30 4 * * MON-FRI");
  EXPECT_EQ(report.schedule.time_zone(), "Europe/Berlin");
  EXPECT_FALSE(report.options.enabled);
  // A new expression without a zone keeps the code's zone.
  auto zoned = table_with_tasks();
  zoned.add_task(tasks::TaskSpec{"zoned", Schedule::cron("0 3 * * *", "Europe/Berlin"), {}});
  auto zoned_settings = zoned.defaults();
  apply_config_text(zoned, "[[task]]\nname = \"zoned\"\ncron = \"0 4 * * *\"\n", "corral.toml", zoned_settings);
  EXPECT_EQ(zoned_settings.tasks[2].schedule.time_zone(), "Europe/Berlin");
  // Untouched by the file: what the code said.
  EXPECT_EQ(table.defaults().tasks[0].schedule.period(), std::chrono::seconds(60));
}

TEST(TaskConfig, MistakesNameTheKeyAndTheLine) {
  EXPECT_EQ(task_error_of("[[task]]\nname = \"tock\"\n"),
            "corral.toml:2: task.name: no task named \"tock\" (this service defines: purge-sessions, report)");
  EXPECT_EQ(task_error_of("[[task]]\nevery = \"1m\"\n"),
            "corral.toml:1: task.name: missing: a [[task]] names the task it configures");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\n\ncron = \"0 25 * * *\"\n").substr(0, 24),
            "corral.toml:4: task.cron");
  EXPECT_NE(task_error_of("[[task]]\nname = \"report\"\ncron = \"0 25 * * *\"\n").find("hour"), std::string::npos);
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\ntimezone = \"Mars/Olympus\"\n").substr(0, 28),
            "corral.toml:3: task.timezone");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\nevery = \"1m\"\ncron = \"* * * * *\"\n"),
            "corral.toml:4: task.cron: a task has either every or cron, not both");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\nevery = \"1.5s\"\n"),
            "corral.toml:3: task.every: must be whole seconds, 1 s or more");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\nrun_on = \"some\"\n"),
            "corral.toml:3: task.run_on: must be \"one\" or \"all\" (got \"some\")");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\nmissed = \"catch-up\"\n"),
            "corral.toml:3: task.missed: must be \"skip\" or \"run-once\" (got \"catch-up\")");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\ntimeout = 0.5\n"),
            "corral.toml:3: task.timeout: must be 1 s or more");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\njitter = \"soon\"\n").substr(0, 27),
            "corral.toml:3: task.jitter:");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"purge-sessions\"\njitter = \"1m\"\n"),
            "corral.toml:3: task.jitter: the jitter (60000 ms) must be shorter than the time between two runs (60000 ms)");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"purge-sessions\"\njitter = \"30s\"\n\nevery = \"20s\"\n").substr(0, 29),
            "corral.toml:3: task.jitter: t");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\njitter = \"2m\"\ncron = \"* * * * *\"\n"),
            "corral.toml:3: task.jitter: the jitter (120000 ms) must be shorter than the time between two runs (60000 ms)");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\njitter = \"59s\"\ncron = \"* * * * *\"\n"), "accepted");
  // A daily run has a 23-hour day once a year: refused whatever the date today.
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\njitter = \"23.5h\"\ncron = \"30 2 * * *\"\n"
                          "timezone = \"Europe/Berlin\"\n").substr(0, 27),
            "corral.toml:3: task.jitter:");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\nenabled = \"yes\"\n"),
            "corral.toml:3: task.enabled: must be true or false");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\nschedule = \"daily\"\n").substr(0, 31),
            "corral.toml:3: task.schedule: u");
  EXPECT_EQ(task_error_of("[[task]]\nname = \"report\"\n[[task]]\nname = \"report\"\n"),
            "corral.toml:4: task.name: task \"report\" is configured twice");
  EXPECT_EQ(task_error_of("task = 5\n"),
            "corral.toml:1: task: must be an array of tables: write each task as a [[task]] section");
  EXPECT_EQ(error_of("[[task]]\nname = \"any\"\n"),
            "corral.toml:2: task.name: no task named \"any\" (this service defines no tasks)");
}

TEST(TaskConfig, DurationsReadTheirUnits) {
  EXPECT_EQ(parse_duration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(parse_duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(parse_duration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(parse_duration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(parse_duration("2h"), std::chrono::hours(2));
  EXPECT_EQ(parse_duration("1d"), std::chrono::hours(24));
  EXPECT_FALSE(parse_duration("30"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("1 s"));
  EXPECT_FALSE(parse_duration("1w"));
}

TEST(TaskConfig, ACommandEntryIsATaskOfItsOwnAndReachesTheWorker) {
  const auto table = table_with_tasks();
  auto settings = table.defaults();
  apply_config_text(table, R"([[task]]
name = "purge-uploads"
cron = "30 3 * * *"
command = ["python3", "/srv/app/purge.py", "--days", "7"]
timeout = "10m"
)",
                    "corral.toml", settings);
  ASSERT_EQ(settings.tasks.size(), 3U);
  const auto& spec = settings.tasks.back();
  EXPECT_EQ(spec.name, "purge-uploads");
  EXPECT_EQ(spec.command, (std::vector<std::string>{"python3", "/srv/app/purge.py", "--days", "7"}));
  EXPECT_EQ(spec.schedule.expression(), "30 3 * * *");
  EXPECT_EQ(spec.options.timeout, std::chrono::minutes(10));
  EXPECT_TRUE(settings.tasks.front().command.empty()) << "the code's tasks run their functions";
  // A worker is told the program on its command line.
  WorkerIdentity identity;
  identity.channel_fd = 5;
  const auto worker = parse_arguments(worker_arguments(table, settings, identity));
  const auto found = std::find_if(worker.settings.tasks.begin(), worker.settings.tasks.end(),
                                  [](const auto& task) { return task.name == "purge-uploads"; });
  ASSERT_NE(found, worker.settings.tasks.end());
  EXPECT_EQ(found->command, spec.command);
}

TEST(TaskConfig, ACommandEntryNeedsAScheduleAndANameOfItsOwn) {
  const std::pair<const char*, const char*> cases[] = {
      {"[[task]]\nname = \"purge\"\ncommand = [\"purge\"]\n",
       "corral.toml:3: task.command: a command task needs every or cron"},
      {"[[task]]\nname = \"report\"\nevery = 60\ncommand = [\"report\"]\n",
       "corral.toml:4: task.command: \"report\" is a task of the service's code; a command task needs a name of its own"},
      {"[[task]]\nname = \"Purge!\"\nevery = 60\ncommand = [\"purge\"]\n", "corral.toml:2: task.name: must be 1 to 64"},
      {"[[task]]\nname = \"purge\"\nevery = 60\ncommand = \"purge --all\"\n",
       "corral.toml:4: task.command: must be a non-empty array of strings"},
      {"[[task]]\nname = \"purge\"\nevery = 60\ncommand = [\"purge\"]\n[[task]]\nname = \"purge\"\nevery = 60\n"
       "command = [\"purge\"]\n",
       "task.name: task \"purge\" is configured twice"},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_NE(task_error_of(text).find(message), std::string::npos) << text << "\n" << task_error_of(text);
  }
}

TEST(TaskConfig, TheTableRefusesABadTaskDefinition) {
  SettingTable table;
  table.add_task(tasks::TaskSpec{"tick", Schedule::every(std::chrono::seconds(1)), {}});
  EXPECT_THROW(table.add_task(tasks::TaskSpec{"tick", Schedule::every(std::chrono::seconds(1)), {}}),
               std::invalid_argument);
  EXPECT_THROW(table.add_task(tasks::TaskSpec{"Tick", Schedule::every(std::chrono::seconds(1)), {}}),
               std::invalid_argument);
  TaskOptions short_timeout;
  short_timeout.timeout = std::chrono::milliseconds(10);
  EXPECT_THROW(table.add_task(tasks::TaskSpec{"quick", Schedule::every(std::chrono::seconds(1)), short_timeout}),
               std::invalid_argument);
}

}  // namespace
}  // namespace corral

namespace corral {
namespace {

TEST(AppConfig, TheAppTableIsReadKeyByKey) {
  Settings s;
  apply_config_text(SettingTable{}, R"(
[app]
command = ["node", "server.js", "--port-from-systemd"]
working_directory = "/srv/app"
environment = { NODE_ENV = "production", TZ = "UTC" }
ready = "started"
stop_signal = "SIGINT"
)",
                    "corral.toml", s);
  EXPECT_EQ(s.app.command, (std::vector<std::string>{"node", "server.js", "--port-from-systemd"}));
  EXPECT_EQ(s.app.working_directory, "/srv/app");
  EXPECT_EQ(s.app.environment.at("NODE_ENV"), "production");
  EXPECT_EQ(s.app.ready, AppReady::started);
  EXPECT_EQ(s.app.stop_signal, SIGINT);
  EXPECT_TRUE(s.app.enabled());
  EXPECT_FALSE(Settings{}.app.enabled()) << "no command: the service's own routes";
  EXPECT_EQ(Settings{}.app.stop_signal, SIGTERM);
}

TEST(AppConfig, MistakesNameTheKeyAndTheLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"[app]\ncommand = \"node server.js\"\n",
       "corral.toml:2: app.command: must be a non-empty array of strings, such as [\"node\", \"server.js\"]"},
      {"[app]\ncommand = []\n", "corral.toml:2: app.command: must be a non-empty array"},
      {"[app]\ncommand = [\"node\", 3]\n", "corral.toml:2: app.command: every item must be a non-empty string"},
      {"[app]\ncommand = [\"node\"]\nworking_directory = \"srv\"\n",
       "corral.toml:3: app.working_directory: must be an absolute path"},
      {"[app]\ncommand = [\"node\"]\nenvironment = { LISTEN_FDS = \"2\" }\n",
       "corral.toml:3: app.environment: LISTEN_FDS is set by corral for each worker"},
      {"[app]\ncommand = [\"node\"]\nenvironment = { PORT = 3000 }\n",
       "corral.toml:3: app.environment: PORT must be a string"},
      {"[app]\ncommand = [\"node\"]\nready = \"yes\"\n", "corral.toml:3: app.ready: must be \"notify\""},
      {"[app]\ncommand = [\"node\"]\nstop_signal = \"SIGKILL\"\n",
       "corral.toml:3: app.stop_signal: \"SIGKILL\" is not a stop signal; use SIGTERM"},
      {"[app]\ncommand = [\"node\"]\nrestart = true\n", "corral.toml:3: app.restart: unknown key (see docs"},
      {"app = \"node\"\n", "corral.toml:1: app: [app] must be a table"},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_NE(error_of(text).find(message), std::string::npos) << text << "\n" << error_of(text);
  }
}

TEST(AppConfig, TheCommandAfterTheSeparatorOverridesTheFile) {
  const auto path = std::filesystem::temp_directory_path() / ("corral-app-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << "[app]\ncommand = [\"node\", \"old.js\"]\n";
  EXPECT_EQ(parse_arguments({"--config", path.string()}).settings.app.command,
            (std::vector<std::string>{"node", "old.js"}));
  const auto overridden = parse_arguments({"--config", path.string(), "--workers", "2", "--", "python3", "-m", "app",
                                           "--workers", "9"});
  std::filesystem::remove(path);
  EXPECT_EQ(overridden.settings.app.command, (std::vector<std::string>{"python3", "-m", "app", "--workers", "9"}));
  EXPECT_EQ(overridden.settings.workers, 2u) << "flags after -- are the program's";
  EXPECT_THROW(parse_arguments({"--max-requests", "5", "--", "node"}), ConfigError);
  EXPECT_THROW(parse_arguments({"--"}), ExitRequest);
}

TEST(AppConfig, TheProgramIsFoundLikeExecvpOrTheErrorSaysWhy) {
  AppSettings app;
  app.command = {"sh"};
  EXPECT_TRUE(find_app_program(app, "corral.toml").ends_with("/sh"));
  app.command = {"/bin/sh"};
  EXPECT_EQ(find_app_program(app, "corral.toml"), "/bin/sh");
  app.command = {"./sh"};
  app.working_directory = "/bin";
  EXPECT_EQ(find_app_program(app, "corral.toml"), "/bin/./sh") << "relative to the working directory";
  const auto text_file =
      std::filesystem::temp_directory_path() / ("corral-not-a-program-" + std::to_string(::getpid()));
  std::ofstream(text_file) << "text\n";
  std::filesystem::permissions(text_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  app.command = {text_file.string()};
  try {
    find_app_program(app, "corral.toml");
    ADD_FAILURE() << "not executable, accepted";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), "corral.toml: app.command: \"" + text_file.string() +
                                             "\" is not an executable file (" + text_file.string() + ")");
  }
  std::filesystem::remove(text_file);
  EXPECT_EQ(parse_stop_signal("TERM"), SIGTERM);
  EXPECT_EQ(parse_stop_signal("SIGWINCH"), SIGWINCH);
  EXPECT_THROW(parse_stop_signal("SIGSTOP"), std::invalid_argument);
}

}  // namespace
}  // namespace corral
