// Reads lines "EXPRESSION<TAB>ZONE<TAB>START" (START in seconds since the epoch) and
// writes for each the next fire times, each after the one before, as seconds since
// the epoch separated by spaces, or "error: MESSAGE". cron_reference.py checks them
// against python3-croniter, all lines through one process.
#include <charconv>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>

#include "tasks/cron_expression.hpp"
#include "tasks/time_zone.hpp"

namespace {

constexpr int fires_per_line = 5;

std::string next_fires(const std::string& line, std::map<std::string, corral::tasks::TimeZone>& zones) {
  const auto first_tab = line.find('\t');
  const auto second_tab = line.find('\t', first_tab + 1);
  if (second_tab == std::string::npos) return "error: the line is not EXPRESSION<TAB>ZONE<TAB>START";
  const auto zone_name = line.substr(first_tab + 1, second_tab - first_tab - 1);
  long long start = 0;
  const auto start_text = std::string_view(line).substr(second_tab + 1);
  if (std::from_chars(start_text.data(), start_text.data() + start_text.size(), start).ec != std::errc{}) {
    return "error: START is not a number";
  }
  try {
    const auto expression = corral::tasks::CronExpression::parse(line.substr(0, first_tab));
    auto zone = zones.find(zone_name);
    if (zone == zones.end()) zone = zones.emplace(zone_name, corral::tasks::TimeZone::named(zone_name)).first;
    std::string fires;
    std::chrono::sys_seconds time{std::chrono::seconds(start)};
    for (int i = 0; i < fires_per_line; ++i) {
      time = expression.next_after(time, zone->second);
      fires += (i == 0 ? "" : " ") + std::to_string(time.time_since_epoch().count());
    }
    return fires;
  } catch (const std::exception& error) {
    return std::string("error: ") + error.what();
  }
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::map<std::string, corral::tasks::TimeZone> zones;
  std::string line;
  while (std::getline(std::cin, line)) std::cout << next_fires(line, zones) << '\n';
  return std::cout.flush() ? 0 : 1;
}
