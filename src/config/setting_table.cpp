#include "config/setting_table.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "config/store_address.hpp"
#include "net/endpoint.hpp"
#include "tasks/next_run.hpp"

namespace corral {
namespace {

using std::chrono::milliseconds;

// `field` is a generic lambda naming the setting's member: it serves both the const
// Settings a row reads and the one it writes.
template <class Field>
SettingRow whole_row(std::string key, std::string flag, std::string help, double min, double max, Field field) {
  SettingRow row{std::move(key), std::move(flag), std::move(help), SettingKind::whole, min, max, {}, {}, {}};
  row.get = [field](const Settings& s) { return SettingValue(static_cast<std::int64_t>(field(s))); };
  row.set = [field](Settings& s, const SettingValue& v) {
    auto& target = field(s);
    target = static_cast<std::remove_reference_t<decltype(target)>>(std::get<std::int64_t>(v));
  };
  return row;
}

template <class Field>
SettingRow seconds_row(std::string key, std::string flag, std::string help, double min, double max, Field field) {
  SettingRow row{std::move(key), std::move(flag), std::move(help), SettingKind::seconds, min, max, {}, {}, {}};
  row.get = [field](const Settings& s) { return SettingValue(field(s)); };
  row.set = [field](Settings& s, const SettingValue& v) { field(s) = std::get<milliseconds>(v); };
  return row;
}

template <class Field>
SettingRow text_row(std::string key, std::string flag, std::string help, Field field) {
  SettingRow row{std::move(key), std::move(flag), std::move(help), SettingKind::text, 0, 0, {}, {}, {}};
  row.get = [field](const Settings& s) { return SettingValue(field(s)); };
  row.set = [field](Settings& s, const SettingValue& v) { field(s) = std::get<std::string>(v); };
  return row;
}

template <class Field>
SettingRow boolean_row(std::string key, std::string flag, std::string help, Field field) {
  SettingRow row{std::move(key), std::move(flag), std::move(help), SettingKind::boolean, 0, 0, {}, {}, {}};
  row.get = [field](const Settings& s) { return SettingValue(field(s)); };
  row.set = [field](Settings& s, const SettingValue& v) { field(s) = std::get<bool>(v); };
  return row;
}

// corral's own settings, documented in docs/configuration.md and etc/corral.toml.
std::vector<SettingRow> core_rows() {
  std::vector<SettingRow> rows;
  SettingRow listen{"listen", "--listen", "HOST:PORT to bind when systemd passes no socket (IPv6: [::1]:3000)",
                    SettingKind::text, 0, 0, {}, {}, {}};
  listen.get = [](const Settings& s) { return SettingValue(s.listen); };
  listen.set = [](Settings& s, const SettingValue& v) { s.listen = std::get<std::string>(v); };
  rows.push_back(std::move(listen));
  rows.push_back(whole_row("backlog", "--backlog", "listen() backlog when binding --listen", 1, 65535,
                           [](auto& s) -> auto& { return s.backlog; }));
  rows.push_back(whole_row("workers", "--workers",
                           "worker processes; 0 = one per CPU this process may use (affinity, cgroup cpu.max)", 0,
                           1024, [](auto& s) -> auto& { return s.workers; }));
  rows.push_back(seconds_row("drain_timeout", "--drain-timeout",
                             "seconds a stopping worker may take to finish in-flight requests", 0, 3600,
                             [](auto& s) -> auto& { return s.drain_timeout; }));
  rows.push_back(seconds_row("start_timeout", "--start-timeout", "seconds for the initial workers to become ready", 1,
                             3600, [](auto& s) -> auto& { return s.start_timeout; }));
  rows.push_back(seconds_row("hang_timeout", "--hang-timeout",
                             "seconds without a heartbeat before a worker is aborted", 1, 3600,
                             [](auto& s) -> auto& { return s.hang_timeout; }));
  rows.push_back(whole_row("restart_limit", "--restart-limit",
                           "restarts allowed in any --restart-window; past it, no refork", 1, 100000,
                           [](auto& s) -> auto& { return s.restart_limit; }));
  rows.push_back(seconds_row("restart_window", "--restart-window", "seconds of the restart budget's window", 1, 3600,
                             [](auto& s) -> auto& { return s.restart_window; }));
  rows.push_back(seconds_row("min_uptime", "--min-uptime",
                             "a worker that dies sooner without answering a request failed to start (backoff)", 0,
                             3600, [](auto& s) -> auto& { return s.min_uptime; }));
  rows.push_back(seconds_row("terminal_timeout", "--terminal-timeout",
                             "seconds with the restart budget spent and no worker ready before corral exits 1", 1,
                             86400, [](auto& s) -> auto& { return s.terminal_timeout; }));
  rows.push_back(whole_row("max_requests", "--max-requests", "recycle a worker after about this many requests; 0: off",
                           0, 1e12, [](auto& s) -> auto& { return s.max_requests; }));
  rows.push_back(whole_row("max_rss", "--max-rss", "recycle a worker whose resident memory exceeds this many MiB; 0: off",
                           0, 1 << 20, [](auto& s) -> auto& { return s.max_rss_mib; }));
  SettingRow level{"log_level", "--log-level", log_level_names, SettingKind::log_level, 0, 0, {}, {}, {}};
  level.get = [](const Settings& s) { return SettingValue(log_level_name(s.log_level)); };
  level.set = [](Settings& s, const SettingValue& v) { s.log_level = *parse_log_level(std::get<std::string>(v)); };
  rows.push_back(std::move(level));
  rows.push_back(boolean_row("enable_debug_routes", "--enable-debug-routes",
                             "serve the service's debug routes (they crash or stall workers: never in production)",
                             [](auto& s) -> auto& { return s.enable_debug_routes; }));
  auto fail_start = boolean_row("debug_fail_start", "--debug-fail-start",
                                "workers fail during start, for crash-loop tests (needs --enable-debug-routes)",
                                [](auto& s) -> auto& { return s.debug_fail_start; });
  fail_start.hidden = true;
  rows.push_back(std::move(fail_start));
  rows.push_back(whole_row("http.max_header_bytes", "--max-header-bytes",
                           "largest request line plus headers; larger gets 431", 512, 1 << 20,
                           [](auto& s) -> auto& { return s.http.max_header_bytes; }));
  rows.push_back(whole_row("http.max_body_bytes", "--max-body-bytes", "largest request body; larger gets 413", 0,
                           1 << 30, [](auto& s) -> auto& { return s.http.max_body_bytes; }));
  rows.push_back(seconds_row("http.keepalive_timeout", "--keepalive-timeout",
                             "seconds an idle keep-alive connection is kept open", 0, 3600,
                             [](auto& s) -> auto& { return s.http.keepalive_timeout; }));
  rows.push_back(seconds_row("http.request_timeout", "--request-timeout",
                             "seconds from a request's first byte to its end; slower gets 408", 0.001, 3600,
                             [](auto& s) -> auto& { return s.http.request_timeout; }));
  rows.push_back(seconds_row("http.send_timeout", "--send-timeout",
                             "seconds to write one response before the connection is dropped", 0.001, 3600,
                             [](auto& s) -> auto& { return s.http.send_timeout; }));
  auto store = text_row("store", "--store",
                        "where state is shared: sqlite (a file in the state directory), "
                        "redis://[USER@]HOST[:PORT][/DB], unix:///PATH[?db=DB] or "
                        "redis-sentinel://HOST[:PORT],.../MASTER[?db=DB]",
                        [](auto& s) -> auto& { return s.store.address; });
  store.check = [](std::string_view text) { (void)detail::parse_store_address(text); };
  rows.push_back(std::move(store));
  rows.push_back(text_row("state_dir", "--state-dir",
                          "directory of the SQLite store; empty: $STATE_DIRECTORY (systemd's StateDirectory=)",
                          [](auto& s) -> auto& { return s.store.state_dir; }));
  rows.push_back(seconds_row("store_timeout", "--store-timeout",
                             "seconds a store operation may wait (a SQLite lock, a Redis reply) before 503", 0.01, 10,
                             [](auto& s) -> auto& { return s.store.timeout; }));
  rows.push_back(whole_row("store_wait_replicas", "--store-wait-replicas",
                           "Redis: a write is acknowledged once this many replicas have it (WAIT); else 503", 0, 100,
                           [](auto& s) -> auto& { return s.store.wait_replicas; }));
  rows.push_back(text_row("store_password_file", "--store-password-file",
                          "file holding the Redis password; empty: the store-password credential (LoadCredential=)",
                          [](auto& s) -> auto& { return s.store.password_file; }));
  rows.push_back(seconds_row("session.lifetime", "--session-lifetime",
                             "seconds a session lives after its last use", 1, 400 * 86400,
                             [](auto& s) -> auto& { return s.store.session_lifetime; }));
  rows.push_back(boolean_row("session.secure_cookie", "--session-secure-cookie",
                             "mark the session cookie Secure (sent over HTTPS only, behind a TLS proxy)",
                             [](auto& s) -> auto& { return s.store.secure_cookie; }));
  rows.push_back(text_row("control_socket", "--control-socket",
                          "unix socket for `status`; empty: $RUNTIME_DIRECTORY/control.sock, or /run/NAME/control.sock "
                          "as root",
                          [](auto& s) -> auto& { return s.control_socket; }));
  auto metrics = text_row("metrics_listen", "--metrics-listen",
                          "HOST:PORT serving GET /metrics (Prometheus) when systemd passes no metrics socket; empty: off",
                          [](auto& s) -> auto& { return s.metrics_listen; });
  metrics.check = [](std::string_view text) {
    if (!text.empty()) (void)net::parse_endpoint(text);
  };
  rows.push_back(std::move(metrics));
  rows.push_back(boolean_row("access_log", "--access-log",
                             "one log entry per request (journal fields CORRAL_METHOD, CORRAL_PATH, CORRAL_STATUS, ...)",
                             [](auto& s) -> auto& { return s.access_log; }));
  rows.push_back(whole_row("access_log_rate", "--access-log-rate",
                           "access log entries per second per worker, at most; the rest are counted, not written", 1,
                           1000000, [](auto& s) -> auto& { return s.access_log_rate; }));
  auto io = text_row("io", "--io",
                     "how connections receive and send: io_uring (no system call per request; epoll where the kernel "
                     "or a seccomp filter refuses it) or epoll",
                     [](auto& s) -> auto& { return s.io; });
  io.check = [](std::string_view text) {
    if (text != "io_uring" && text != "epoll") throw std::invalid_argument("must be io_uring or epoll");
  };
  rows.push_back(std::move(io));
  const Settings defaults;
  for (auto& row : rows) row.default_value = row.get(defaults);
  return rows;
}

bool valid_key(std::string_view key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  for (const char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return false;
  }
  return true;
}

}  // namespace

SettingTable::SettingTable() : rows_(core_rows()) {}

void SettingTable::add_service_setting(SettingRow row) {
  if (!valid_key(row.key)) {
    throw std::invalid_argument("corral: setting key \"" + row.key +
                                "\": use lower-case letters, digits, '_' and '.' (\"hello.greeting\")");
  }
  for (const auto& other : rows_) {
    if (other.key == row.key || other.flag == row.flag) {
      throw std::invalid_argument("corral: setting \"" + row.key + "\" (" + row.flag + ") is taken by \"" + other.key +
                                  "\"");
    }
    if (other.key.starts_with(row.key + ".") || row.key.starts_with(other.key + ".")) {
      throw std::invalid_argument("corral: setting \"" + row.key + "\" and \"" + other.key +
                                  "\" cannot both exist (one would be a TOML table)");
    }
  }
  const auto key = row.key;
  row.get = [key](const Settings& s) { return s.service_values.at(key); };
  row.set = [key](Settings& s, const SettingValue& v) { s.service_values[key] = v; };
  rows_.push_back(std::move(row));
}

const SettingRow* SettingTable::find_key(std::string_view key) const {
  for (const auto& row : rows_) {
    if (row.key == key) return &row;
  }
  return nullptr;
}

void SettingTable::add_task(tasks::TaskSpec spec) {
  if (!tasks::valid_task_name(spec.name)) {
    throw std::invalid_argument("corral::Service::task: name \"" + spec.name +
                                "\": use 1 to 64 lower-case letters, digits, '-' and '_', starting with a letter");
  }
  for (const auto& task : tasks_) {
    if (task.name == spec.name) {
      throw std::invalid_argument("corral::Service::task: a task named \"" + spec.name + "\" is already defined");
    }
  }
  if (spec.options.timeout < std::chrono::seconds(1) || spec.options.timeout > tasks::max_task_duration ||
      spec.options.jitter.count() < 0 || spec.options.jitter > tasks::max_task_duration) {
    throw std::invalid_argument("corral::Service::task: " + spec.name + ": the timeout must be 1 s to 366 days and "
                                "the jitter 0 to 366 days");
  }
  if (const auto problem = tasks::jitter_problem(spec)) {
    throw std::invalid_argument("corral::Service::task: " + spec.name + ": " + *problem);
  }
  tasks_.push_back(std::move(spec));
}

Settings SettingTable::defaults() const {
  Settings settings;
  settings.tasks = tasks_;
  for (const auto& row : rows_) row.set(settings, row.default_value);
  return settings;
}

std::string format_setting(const SettingRow& row, const SettingValue& value) {
  switch (row.kind) {
    case SettingKind::text:
    case SettingKind::log_level:
      return std::get<std::string>(value);
    case SettingKind::whole:
      return std::to_string(std::get<std::int64_t>(value));
    case SettingKind::seconds: {
      const auto ms = std::get<milliseconds>(value).count();
      return ms % 1000 == 0 ? std::to_string(ms / 1000) : fmt::format("{}.{:03}", ms / 1000, ms % 1000);
    }
    case SettingKind::boolean:
      return std::get<bool>(value) ? "true" : "false";
  }
  return {};
}

std::string describe_accepted(const SettingRow& row) {
  switch (row.kind) {
    case SettingKind::text: return "must be a string in quotes";
    case SettingKind::whole: return fmt::format("must be a whole number from {:.0f} to {:.0f}", row.min, row.max);
    case SettingKind::seconds: return fmt::format("must be a number of seconds from {:g} to {:g}", row.min, row.max);
    case SettingKind::boolean: return "must be true or false";
    case SettingKind::log_level: return fmt::format("must be one of {}", log_level_names);
  }
  return {};
}

SettingValue parse_setting(const SettingRow& row, std::string_view text) {
  const auto fail = [&]() -> SettingValue {
    throw std::invalid_argument(fmt::format("{} (got \"{}\")", describe_accepted(row), text));
  };
  switch (row.kind) {
    case SettingKind::text:
      if (row.check) row.check(text);
      return std::string(text);
    case SettingKind::log_level:
      if (!parse_log_level(text)) return fail();
      return std::string(text);
    case SettingKind::boolean:
      if (text == "true") return true;
      if (text == "false") return false;
      return fail();
    case SettingKind::whole: {
      std::int64_t value = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error != std::errc{} || end != text.data() + text.size() || value < row.min || value > row.max) return fail();
      return value;
    }
    case SettingKind::seconds: {
      double value = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error != std::errc{} || end != text.data() + text.size() || !std::isfinite(value) || value < row.min ||
          value > row.max) {
        return fail();
      }
      return milliseconds(std::llround(value * 1000.0));
    }
  }
  return fail();
}

}  // namespace corral
