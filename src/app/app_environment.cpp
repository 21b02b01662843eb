#include "app/app_environment.hpp"

#include <string_view>

#include <fmt/format.h>

extern char** environ;

namespace corral::app {
namespace {

// Set per worker, so never passed on from corral's own environment or the [app] table.
bool set_per_worker(std::string_view name) {
  return name.starts_with("LISTEN_") || name == "NOTIFY_SOCKET" || name.starts_with("WATCHDOG_") ||
         name.starts_with("CORRAL_WORKER_");
}

std::string_view name_of(std::string_view assignment) {
  return assignment.substr(0, assignment.find('='));
}

}  // namespace

std::vector<std::string> app_environment(const AppSettings& app, const AppWorker& worker,
                                         const std::vector<std::string>& inherited) {
  std::vector<std::string> out;
  for (const auto& assignment : inherited) {
    const auto name = name_of(assignment);
    if (set_per_worker(name) || app.environment.contains(std::string(name))) continue;
    out.push_back(assignment);
  }
  for (const auto& [name, value] : app.environment) out.push_back(fmt::format("{}={}", name, value));
  out.push_back(fmt::format("LISTEN_FDS={}", worker.listen_fd_count));
  std::string names;
  for (unsigned i = 0; i < worker.listen_fd_count; ++i) names += i == 0 ? "http" : ":http";
  out.push_back("LISTEN_FDNAMES=" + names);
  out.push_back("NOTIFY_SOCKET=" + worker.notify_socket);
  if (worker.watchdog) out.push_back(fmt::format("WATCHDOG_USEC={}", worker.watchdog->count()));
  out.push_back(fmt::format("CORRAL_WORKER_SLOT={}", worker.slot));
  out.push_back(fmt::format("CORRAL_WORKER_GENERATION={}", worker.generation));
  return out;
}

std::vector<std::string> current_environment() {
  std::vector<std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) out.emplace_back(*entry);
  return out;
}

}  // namespace corral::app
