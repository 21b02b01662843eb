#include "corral/service.hpp"

#include <cstdio>
#include <stdexcept>

#include "app/app_launcher.hpp"
#include "common/exit_code.hpp"
#include "common/process_title.hpp"
#include "config/command_line.hpp"
#include "config/config_check.hpp"
#include "config/config_file.hpp"
#include "control/status_command.hpp"
#include "control/task_command.hpp"
#include "http/router.hpp"
#include "service/service_definition.hpp"
#include "supervisor/run_supervisor.hpp"
#include "worker/run_worker.hpp"

namespace corral {
namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || !(name.front() >= 'a' && name.front() <= 'z')) return false;
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// "hello.greeting" -> "--hello-greeting".
std::string flag_for(std::string_view key) {
  std::string flag = "--";
  for (const char c : key) flag.push_back(c == '.' || c == '_' ? '-' : c);
  return flag;
}

SettingRow service_row(std::string key, std::string help, SettingKind kind, SettingValue default_value,
                       double min = 0, double max = 0) {
  SettingRow row;
  row.flag = flag_for(key);
  row.key = std::move(key);
  row.help = std::move(help);
  row.kind = kind;
  row.min = min;
  row.max = max;
  row.default_value = std::move(default_value);
  return row;
}

}  // namespace

Service::Service(std::string name) : definition_(std::make_unique<detail::ServiceDefinition>()) {
  if (!valid_name(name)) {
    throw std::invalid_argument("corral::Service: name \"" + name +
                                "\": use 1 to 32 lower-case letters, digits and '-', starting with a letter");
  }
  definition_->name = std::move(name);
}

Service::~Service() = default;

const std::string& Service::name() const noexcept {
  return definition_->name;
}

Service& Service::route(std::string_view method, std::string_view pattern, Handler handler) {
  // Checked now, where a mistake is easy to find, not in every worker at start.
  definition_->routes_with_debug.add(method, pattern, handler);
  definition_->routes.add(method, pattern, std::move(handler));
  return *this;
}

Service& Service::debug_route(std::string_view method, std::string_view pattern, Handler handler) {
  definition_->routes_with_debug.add(method, pattern, std::move(handler));
  return *this;
}

Service& Service::task(std::string name, Schedule schedule, TaskFunction function, TaskOptions options) {
  if (!function) throw std::invalid_argument("corral::Service::task: " + name + ": the function is empty");
  definition_->settings.add_task(tasks::TaskSpec{name, std::move(schedule), options});  // checks the name first
  definition_->task_functions.emplace(std::move(name), std::move(function));
  return *this;
}

Setting<std::string> Service::text_setting(std::string key, std::string help, std::string default_value) {
  return definition_->add_setting<std::string>(
      service_row(std::move(key), std::move(help), SettingKind::text, std::move(default_value)),
      [](const SettingValue& value) { return std::get<std::string>(value); });
}

Setting<std::int64_t> Service::number_setting(std::string key, std::string help, std::int64_t default_value,
                                              std::int64_t min, std::int64_t max) {
  if (min > max || default_value < min || default_value > max) {
    throw std::invalid_argument("corral::Service::number_setting: " + key + ": the default is outside [min, max]");
  }
  return definition_->add_setting<std::int64_t>(
      service_row(std::move(key), std::move(help), SettingKind::whole, default_value, static_cast<double>(min),
                  static_cast<double>(max)),
      [](const SettingValue& value) { return std::get<std::int64_t>(value); });
}

Setting<bool> Service::flag_setting(std::string key, std::string help) {
  return definition_->add_setting<bool>(service_row(std::move(key), std::move(help), SettingKind::boolean, false),
                                        [](const SettingValue& value) { return std::get<bool>(value); });
}

Setting<std::chrono::milliseconds> Service::duration_setting(std::string key, std::string help,
                                                             std::chrono::milliseconds default_value,
                                                             std::chrono::milliseconds min,
                                                             std::chrono::milliseconds max) {
  if (min > max || default_value < min || default_value > max) {
    throw std::invalid_argument("corral::Service::duration_setting: " + key + ": the default is outside [min, max]");
  }
  return definition_->add_setting<std::chrono::milliseconds>(
      service_row(std::move(key), std::move(help), SettingKind::seconds, default_value,
                  static_cast<double>(min.count()) / 1000.0, static_cast<double>(max.count()) / 1000.0),
      [](const SettingValue& value) { return std::get<std::chrono::milliseconds>(value); });
}

int Service::run(int argc, char** argv) {
  auto& definition = *definition_;
  if (argc >= 2 && std::string_view(argv[1]) == "status") {
    return control::run_status_command(argc - 1, argv + 1, definition.name);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "task") {
    return control::run_task_command(argc - 1, argv + 1, definition.name);
  }
  if (argc >= 2 && std::string_view(argv[1]) == app::launch_flag) return app::launch_app(argc, argv);
  process_title::init(argc, argv);
  const ProgramDescription program{definition.name, "a service on corral, a socket-activated prefork HTTP server.",
                                   &definition.settings};
  try {
    auto command_line = parse_command_line(argc, argv, program);
    for (const auto& publish : definition.publish) publish(command_line.settings);
    if (command_line.check_config) return check_configuration(command_line);
    if (command_line.worker) {
      const auto& router =
          command_line.settings.enable_debug_routes ? definition.routes_with_debug : definition.routes;
      return run_worker(command_line.settings, *command_line.worker, router, definition.task_functions,
                        definition.name);
    }
    return run_supervisor(program, std::move(command_line));
  } catch (const ExitRequest& request) {
    return request.code;
  } catch (const ConfigError& error) {
    std::fprintf(stderr, "%s: configuration error: %s\n", definition.name.c_str(), error.what());
    return exit_code::usage;
  } catch (const std::exception& error) {
    // The roles log their own failures; this is what fails before either starts.
    std::fprintf(stderr, "%s: %s\n", definition.name.c_str(), error.what());
    return exit_code::failure;
  }
}

}  // namespace corral
