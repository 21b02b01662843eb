#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <map>
#include <variant>
#include <vector>

#include <spdlog/common.h>

#include "tasks/task_spec.hpp"

namespace corral {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

// Per-request limits. Defaults follow nginx where it has one (8 KiB header buffers,
// 1 MiB body) and Node's keep-alive timeout (5 s).
struct HttpLimits {
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  milliseconds keepalive_timeout = 5s;  // idle between requests; closed silently
  milliseconds request_timeout = 10s;   // first byte to complete request; 408 after
  milliseconds send_timeout = 10s;      // writing one response
};

// The shared store and its sessions (docs/configuration.md, "Store").
struct StoreSettings {
  std::string address = "sqlite";
  std::string state_dir;  // empty: $STATE_DIRECTORY
  milliseconds timeout = 1s;
  std::string password_file;  // empty: $CREDENTIALS_DIRECTORY/store-password, if there
  unsigned wait_replicas = 0;  // Redis: a write succeeds once this many replicas have it (WAIT)
  milliseconds session_lifetime = 24h;
  bool secure_cookie = false;
};

// When an app worker counts as ready.
enum class AppReady {
  notify,   // when it sends READY=1 on $NOTIFY_SOCKET (sd_notify(3))
  started,  // when it is started, for programs that send nothing
};

// A program of any language run as the workers (docs/apps.md): [app] in the file, or
// the arguments after `--`. Empty `command`: corral serves the service's own routes.
struct AppSettings {
  std::vector<std::string> command;  // the program and its arguments; found on $PATH like execvp(3)
  std::string working_directory;     // empty: corral's own
  std::map<std::string, std::string> environment;  // added to (or replacing) what corral has
  AppReady ready = AppReady::notify;
  int stop_signal = 15;  // SIGTERM: drain and exit; SIGKILL at drain_timeout

  bool enabled() const { return !command.empty(); }
};

// A setting's value, whatever its kind: text and log levels as strings, whole numbers
// as int64, seconds as milliseconds.
using SettingValue = std::variant<std::string, std::int64_t, std::chrono::milliseconds, bool>;

// Everything that decides how corral runs; documented in docs/configuration.md. Each
// field is described once, by a row of the SettingTable (config/setting_table.cpp).
struct Settings {
  std::string listen = "127.0.0.1:3000";  // used only when not socket-activated
  int backlog = 1024;
  unsigned workers = 0;                   // 0: one per CPU this process may use
  milliseconds drain_timeout = 30s;
  milliseconds start_timeout = 60s;       // for every initial worker to report Ready
  milliseconds hang_timeout = 30s;        // no heartbeat for this long: SIGABRT
  unsigned restart_limit = 60;            // restarts allowed in any restart_window
  milliseconds restart_window = 60s;
  milliseconds min_uptime = 1s;           // shorter, with no request answered: a failed start
  milliseconds terminal_timeout = 30s;    // budget spent and no worker ready this long: exit
  std::uint64_t max_requests = 0;         // recycle a worker after about this many; 0: off
  std::uint64_t max_rss_mib = 0;          // recycle a worker above this resident size; 0: off
  bool enable_debug_routes = false;
  bool debug_fail_start = false;          // workers fail during start (crash-loop tests)
  spdlog::level::level_enum log_level = spdlog::level::info;
  HttpLimits http;
  StoreSettings store;
  std::string control_socket;   // empty: control/socket_path.hpp's default
  std::string metrics_listen;   // HOST:PORT for GET /metrics when systemd passes no metrics socket; empty: off
  bool access_log = false;
  unsigned access_log_rate = 100;  // entries per second per worker, at most
  std::string io = "io_uring";  // how connections move bytes: "io_uring" (epoll where refused) or "epoll"
  AppSettings app;
  // The service's tasks (Service::task), with the file's [[task]] entries applied.
  std::vector<tasks::TaskSpec> tasks;
  // The service's own settings (Service::text_setting and the like), by key.
  std::map<std::string, SettingValue, std::less<>> service_values;
};

// Log level names as written in flags and the file.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);
std::string log_level_name(spdlog::level::level_enum level);
inline constexpr const char* log_level_names = "trace, debug, info, warning, error or critical";

// Given to a worker process by its supervisor on the command line.
struct WorkerIdentity {
  unsigned slot = 0;
  std::uint32_t generation = 0;
  pid_t supervisor_pid = 0;
  std::vector<int> listen_fds;
  int channel_fd = -1;
  int load_board_fd = -1;  // -1: no board; the worker takes every connection it is given
};

}  // namespace corral
