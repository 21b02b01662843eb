#include "supervisor/task_journal.hpp"

#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/journal_sink.hpp"

namespace corral {
namespace {

std::string message_of(const TaskRunEntry& entry) {
  const auto ms = static_cast<double>(entry.duration.count()) / 1000.0;
  auto text = fmt::format("task {}: {}", entry.task, tasks::outcome_name(entry.outcome));
  switch (entry.outcome) {
    case tasks::Outcome::ok:
    case tasks::Outcome::failed:
      text += fmt::format(" in {:.1f} ms", ms);
      break;
    default:
      break;
  }
  if (entry.slot) text += fmt::format(" on worker {}", *entry.slot);
  if (entry.attempt > 1) text += fmt::format(" (attempt {})", entry.attempt);
  if (entry.manual) text += " (run by hand)";
  if (!entry.detail.empty()) text += ": " + entry.detail;
  return text;
}

}  // namespace

void log_task_run(const std::string& program, const TaskRunEntry& entry) {
  const auto message = message_of(entry);
  const bool failure = tasks::is_failure(entry.outcome);
  if (!stderr_is_journal()) {
    spdlog::log(failure ? spdlog::level::warn : spdlog::level::info, "{}", message);
    return;
  }
  std::vector<std::string> fields{
      "MESSAGE=" + message,
      fmt::format("PRIORITY={}", failure ? LOG_WARNING : LOG_INFO),
      "SYSLOG_IDENTIFIER=" + program,
      "CORRAL_ROLE=supervisor",
      "CORRAL_TASK=" + entry.task,
      fmt::format("CORRAL_TASK_OUTCOME={}", tasks::outcome_name(entry.outcome)),
      fmt::format("CORRAL_TASK_DURATION_US={}", entry.duration.count()),
      fmt::format("CORRAL_TASK_SCHEDULED={}", entry.scheduled.time_since_epoch().count() / 1000),
      fmt::format("CORRAL_TASK_ATTEMPT={}", entry.attempt),
  };
  if (entry.delay) fields.push_back(fmt::format("CORRAL_TASK_DELAY_US={}", entry.delay->count()));
  if (entry.slot) fields.push_back(fmt::format("CORRAL_SLOT={}", *entry.slot));
  if (!entry.detail.empty()) fields.push_back((failure ? "CORRAL_TASK_ERROR=" : "CORRAL_TASK_REASON=") + entry.detail);
  std::vector<iovec> vector;
  for (auto& field : fields) vector.push_back(iovec{field.data(), field.size()});
  sd_journal_sendv(vector.data(), static_cast<int>(vector.size()));
}

}  // namespace corral
