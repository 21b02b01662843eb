// SIGHUP: the configuration read again and checked, then every worker replaced one at a
// time, each successor ready before its predecessor drains (RollingReload decides the
// order). A configuration that does not load changes nothing.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/config_file.hpp"
#include "supervisor/cpu_count.hpp"
#include "supervisor/supervisor.hpp"

namespace corral {

void Supervisor::reload() {
  if (mode_ == Mode::stopping) return;
  spdlog::info("SIGHUP received: reloading the configuration{}",
               command_line_.config_path ? " from " + *command_line_.config_path : std::string{});
  notifier_.reloading(fmt::format("reloading · {}", status_text()));
  CommandLine next;
  try {
    next = parse_arguments(command_line_.arguments, program_);
  } catch (const ConfigError& error) {
    spdlog::error("reload failed, still running the previous configuration: {}", error.what());
    counters_.last_event = fmt::format("reload failed: {}", error.what());
    notifier_.ready(status_text());
    return;
  } catch (const ExitRequest&) {
    spdlog::error("reload failed: the command line no longer parses; still running the previous configuration");
    notifier_.ready(status_text());
    return;
  }
  if (!socket_activated_ && next.settings.listen != settings_.listen) {
    spdlog::warn("listen changed from {} to {}: the socket stays where it is until a restart", settings_.listen,
                 next.settings.listen);
  }
  try {
    store_description_ = check_before_start(next.settings);
  } catch (const std::exception& error) {
    spdlog::error("reload failed, still running the previous configuration: {}", error.what());
    counters_.last_event = fmt::format("reload failed: {}", error.what());
    notifier_.ready(status_text());
    return;
  }
  settings_ = next.settings;
  spdlog::default_logger()->set_level(settings_.log_level);
  configure_tasks(false);
  budget_.reconfigure(settings_.restart_limit, settings_.restart_window);

  const unsigned slots = slots_for(settings_);
  if (slots != table_.slot_count()) {
    spdlog::info("pool size changes from {} to {} workers", table_.slot_count(), slots);
    table_.resize(slots);
    for (auto& [pid, worker] : table_) {
      if (worker.slot >= slots) drain(worker, "reload (slot removed)");
    }
  }
  std::vector<pid_t> previous;
  for (const auto& [pid, worker] : table_) {
    if (worker.state == WorkerState::starting || worker.state == WorkerState::ready) previous.push_back(pid);
  }
  rolling_reload_.begin(std::move(previous));
  mode_ = Mode::reloading;
  spdlog::info("configuration loaded; replacing {} workers one at a time", table_.size());
  advance_reload();
}

void Supervisor::advance_reload() {
  if (mode_ != Mode::reloading) return;
  bool finished = false;
  if (const auto pid = rolling_reload_.next(table_, finished)) {
    auto& worker = *table_.find(*pid);
    worker.state = WorkerState::retiring;  // its slot is now vacant: a successor starts
    worker.retire_reason = "reload";
    return;
  }
  if (!finished) return;
  mode_ = Mode::serving;
  counters_.last_event = "reloaded";
  spdlog::info("reload complete: every worker runs the new configuration");
  notifier_.ready(status_text());
}

}  // namespace corral
