#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/setting_table.hpp"
#include "http/router.hpp"
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
  // Every route, debug ones too, so that a clash is refused when it is defined.
  http::Router all_routes;
  SettingTable settings;
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
