#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/setting_table.hpp"
#include "corral/service.hpp"

namespace corral::detail {

// What a Service holds: its routes and its settings, until run() uses them.
struct ServiceDefinition {
  struct RouteDefinition {
    std::string method;
    std::string pattern;
    Handler handler;
    bool debug = false;
  };

  std::string name;
  std::vector<RouteDefinition> routes;
  SettingTable settings;
  // Copy the parsed values into the cells the service's Setting handles read.
  std::vector<std::function<void(const Settings&)>> publish;

  template <class T, class Convert>
  Setting<T> add_setting(SettingRow row, Convert convert) {
    auto cell = std::make_shared<T>(convert(row.default_value));
    publish.push_back([cell, key = row.key, convert](const Settings& s) { *cell = convert(s.service_values.at(key)); });
    settings.add_service_setting(std::move(row));
    return Setting<T>(cell);
  }
};

}  // namespace corral::detail
