#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/setting_table.hpp"
#include "http/router.hpp"
#include "worker/task_runner.hpp"
#include "corral/service.hpp"

namespace corral::detail {

// What a Service holds: its routes and its settings, until run() uses them.
struct ServiceDefinition {
  std::string name;
  // The routes a worker serves: without, or with, the debug routes. Adding a route to
  // both checks it against every other route when it is defined.
  http::Router routes;
  http::Router routes_with_debug;
  SettingTable settings;  // with the tasks' schedules and options
  TaskFunctions task_functions;
  // Copy the parsed values into the cells the service's Setting handles read.
  std::vector<std::function<void(const Settings&)>> publish;

  template <class T, class Convert>
  Setting<T> add_setting(SettingRow row, Convert convert) {
    auto cell = std::make_shared<T>(convert(row.default_value));
    auto key = row.key;
    settings.add_service_setting(std::move(row));  // checks it first: a refused row leaves nothing behind
    publish.push_back([cell, key, convert](const Settings& s) { *cell = convert(s.service_values.at(key)); });
    return Setting<T>(cell);
  }
};

}  // namespace corral::detail
