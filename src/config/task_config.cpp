#include "config/task_config.hpp"

#include <charconv>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "config/config_error.hpp"
#include "tasks/next_run.hpp"

namespace corral {
namespace {

const std::set<std::string, std::less<>> task_keys{"name",   "every",   "cron",   "timezone", "run_on",
                                                   "timeout", "jitter", "overlap", "missed", "retry",
                                                   "enabled", "command"};

// One [[task]] entry, read key by key; every failure names the key and its line.
class TaskEntry {
 public:
  TaskEntry(const toml::table& entry, const std::string& source) : entry_(entry), source_(source) {}

  [[noreturn]] void fail(std::string_view key, const std::string& problem) const {
    const auto* node = entry_.get(key);
    const auto line = node != nullptr ? node->source().begin.line : entry_.source().begin.line;
    throw ConfigError(source_, line, fmt::format("task.{}", key), problem);
  }

  bool has(std::string_view key) const { return entry_.get(key) != nullptr; }

  // A non-empty array of non-empty strings: a program and its arguments.
  std::optional<std::vector<std::string>> command(std::string_view key) const {
    const auto* node = entry_.get(key);
    if (node == nullptr) return std::nullopt;
    const auto* items = node->as_array();
    if (items == nullptr || items->empty()) {
      fail(key, "must be a non-empty array of strings, such as [\"python3\", \"/srv/app/purge.py\"]");
    }
    std::vector<std::string> out;
    for (const auto& item : *items) {
      if (!item.is_string() || item.as_string()->get().empty()) fail(key, "every item must be a non-empty string");
      if (item.as_string()->get().find('\x1f') != std::string::npos) {
        fail(key, "an item holds the control character 0x1F, which corral uses to pass commands to workers");
      }
      out.push_back(item.as_string()->get());
    }
    return out;
  }

  std::optional<std::string> text(std::string_view key) const {
    const auto* node = entry_.get(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_string()) fail(key, "must be a string");
    return node->as_string()->get();
  }

  std::optional<bool> flag(std::string_view key) const {
    const auto* node = entry_.get(key);
    if (node == nullptr) return std::nullopt;
    if (!node->is_boolean()) fail(key, "must be true or false");
    return node->as_boolean()->get();
  }

  // A number of seconds, or a duration string ("30s", "500ms", "5m").
  std::optional<std::chrono::milliseconds> duration(std::string_view key) const {
    const auto* node = entry_.get(key);
    if (node == nullptr) return std::nullopt;
    std::optional<std::chrono::milliseconds> value;
    if (node->is_number()) {
      const auto seconds = node->value<double>().value_or(-1);
      if (std::isfinite(seconds) && seconds >= 0 && seconds <= 1e12) {
        value = std::chrono::milliseconds(std::llround(seconds * 1000));
      }
    } else if (node->is_string()) {
      value = parse_duration(node->as_string()->get());
    }
    if (!value) fail(key, "must be a duration such as \"30s\", \"500ms\", \"5m\" or \"1h\", or a number of seconds");
    if (*value > tasks::max_task_duration) fail(key, "must be 366 days or less");
    return value;
  }

  void reject_unknown_keys() const {
    for (const auto& [key, node] : entry_) {
      if (!task_keys.contains(key.str())) {
        throw ConfigError(source_, node.source().begin.line, fmt::format("task.{}", key.str()),
                          "unknown key (a [[task]] takes name, command, every, cron, timezone, run_on, timeout, "
                          "jitter, overlap, missed, retry and enabled)");
      }
    }
  }

 private:
  const toml::table& entry_;
  const std::string& source_;
};

void apply_entry(const TaskEntry& entry, tasks::TaskSpec& spec) {
  const auto every = entry.duration("every");
  const auto cron = entry.text("cron");
  const auto zone = entry.text("timezone");
  if (every && cron) entry.fail("cron", "a task has either every or cron, not both");
  if (every) {
    if (*every < std::chrono::seconds(1) || every->count() % 1000 != 0) {
      entry.fail("every", "must be whole seconds, 1 s or more");
    }
    if (zone) entry.fail("timezone", "applies to cron only");
    spec.schedule = Schedule::every(std::chrono::duration_cast<std::chrono::seconds>(*every));
  } else if (cron || zone) {
    const auto expression = cron ? *cron : spec.schedule.expression();
    if (expression.empty()) entry.fail("timezone", "applies to cron only (this task runs every period)");
    try {
      // A key left out keeps what the code set: a new expression keeps the code's zone.
      spec.schedule = Schedule::cron(expression, zone.value_or(spec.schedule.time_zone()));
    } catch (const std::invalid_argument& error) {
      const std::string_view what = error.what();
      entry.fail(zone && what.find("time zone") != std::string_view::npos ? "timezone" : "cron", std::string(what));
    }
  }
  if (const auto run_on = entry.text("run_on")) {
    if (*run_on == "one") {
      spec.options.run_on = RunOn::one;
    } else if (*run_on == "all") {
      spec.options.run_on = RunOn::all;
    } else {
      entry.fail("run_on", fmt::format("must be \"one\" or \"all\" (got \"{}\")", *run_on));
    }
  }
  if (const auto timeout = entry.duration("timeout")) {
    if (*timeout < std::chrono::seconds(1)) entry.fail("timeout", "must be 1 s or more");
    spec.options.timeout = *timeout;
  }
  if (const auto jitter = entry.duration("jitter")) spec.options.jitter = *jitter;
  if (const auto overlap = entry.flag("overlap")) spec.options.overlap = *overlap;
  if (const auto missed = entry.text("missed")) {
    if (*missed == "skip") {
      spec.options.missed = MissedRuns::skip;
    } else if (*missed == "run-once") {
      spec.options.missed = MissedRuns::run_once;
    } else {
      entry.fail("missed", fmt::format("must be \"skip\" or \"run-once\" (got \"{}\")", *missed));
    }
  }
  if (const auto retry = entry.flag("retry")) spec.options.retry = *retry;
  if (const auto enabled = entry.flag("enabled")) spec.options.enabled = *enabled;
  if (const auto problem = tasks::jitter_problem(spec)) {
    // Named where it was set: the jitter, else the schedule that made it too long.
    entry.fail(entry.has("jitter") ? "jitter" : spec.schedule.period().count() > 0 ? "every" : "cron", *problem);
  }
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double number = 0;
  const auto* end = text.data() + text.size();
  const auto [rest, error] = std::from_chars(text.data(), end, number);
  if (error != std::errc() || rest == text.data() || number < 0 || !std::isfinite(number)) return std::nullopt;
  const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
  double ms_per_unit = 0;
  if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "m") {
    ms_per_unit = 60'000;
  } else if (unit == "h") {
    ms_per_unit = 3'600'000;
  } else if (unit == "d") {
    ms_per_unit = 86'400'000;
  } else {
    return std::nullopt;
  }
  const double ms = number * ms_per_unit;
  if (ms > 1e15) return std::nullopt;
  return std::chrono::milliseconds(std::llround(ms));
}

void apply_task_entries(const toml::table& root, const std::string& source, Settings& settings) {
  const auto* node = root.get("task");
  if (node == nullptr) return;
  const auto* entries = node->as_array();
  if (entries == nullptr) {
    throw ConfigError(source, node->source().begin.line, "task",
                      "must be an array of tables: write each task as a [[task]] section");
  }
  std::set<std::string, std::less<>> seen;
  for (const auto& item : *entries) {
    const auto* table = item.as_table();
    if (table == nullptr) {
      throw ConfigError(source, item.source().begin.line, "task", "each entry must be a [[task]] table");
    }
    const TaskEntry entry(*table, source);
    entry.reject_unknown_keys();
    const auto name = entry.text("name");
    if (!name) {
      throw ConfigError(source, table->source().begin.line, "task.name",
                        "missing: a [[task]] names the task it configures");
    }
    auto spec = std::find_if(settings.tasks.begin(), settings.tasks.end(),
                             [&](const tasks::TaskSpec& task) { return task.name == *name; });
    if (const auto command = entry.command("command")) {
      // A task of the file's own: a program on a schedule.
      if (spec != settings.tasks.end() && spec->command.empty()) {
        entry.fail("command", fmt::format("\"{}\" is a task of the service's code; a command task needs a name of "
                                          "its own", *name));
      }
      if (spec != settings.tasks.end()) entry.fail("name", fmt::format("task \"{}\" is configured twice", *name));
      if (!tasks::valid_task_name(*name)) {
        entry.fail("name", "must be 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter");
      }
      if (!entry.has("every") && !entry.has("cron")) entry.fail("command", "a command task needs every or cron");
      settings.tasks.push_back(tasks::TaskSpec{*name, Schedule::every(std::chrono::hours(1)), {}, *command});
      seen.insert(*name);
      apply_entry(entry, settings.tasks.back());
      continue;
    }
    if (spec == settings.tasks.end()) {
      std::vector<std::string> known;
      for (const auto& task : settings.tasks) known.push_back(task.name);
      entry.fail("name", fmt::format("no task named \"{}\" ({})", *name,
                                     known.empty() ? "this service defines no tasks"
                                                   : fmt::format("this service defines: {}", fmt::join(known, ", "))));
    }
    if (!seen.insert(*name).second) entry.fail("name", fmt::format("task \"{}\" is configured twice", *name));
    apply_entry(entry, *spec);
  }
}

}  // namespace corral
