#include "config/command_line.hpp"

#include <cmath>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/exit_code.hpp"
#include "config/config_file.hpp"
#include "version.hpp"

namespace corral {
namespace {

// Durations are given in seconds (fractions allowed) and kept in milliseconds.
struct SecondsOption {
  milliseconds& target;
  double seconds;

  explicit SecondsOption(milliseconds& target)
      : target(target), seconds(static_cast<double>(target.count()) / 1000.0) {}
  void apply() { target = milliseconds(std::llround(seconds * 1000.0)); }
};

std::string seconds_text(milliseconds value) {
  return fmt::format("{}.{:03}", value.count() / 1000, value.count() % 1000);
}

template <class T>
CLI::Range range(Bounds<T> bounds) {
  return CLI::Range(bounds.min, bounds.max);
}

struct Parsed {
  std::optional<WorkerIdentity> worker;
  std::optional<std::string> config_path;
  bool check_config = false;
};

// Applies the flags in `arguments` to `s`; flags that are absent leave `s` as it is.
Parsed apply_flags(const std::vector<std::string>& arguments, Settings& s) {
  CLI::App app{"corral: a socket-activated prefork HTTP service.\n"
               "Run by systemd through corral.socket, or on its own for development.",
               "corral"};
  app.option_defaults()->always_capture_default();
  app.set_version_flag("--version", std::string("corral ") + version);
  Parsed parsed;

  std::string config_path;
  auto* config = app.add_option("--config", config_path, "TOML configuration file (keys: docs/configuration.md)");
  std::string check_path;
  auto* check = app.add_option("--check-config", check_path,
                               "check the configuration (of FILE, or of --config) and exit: 0 if usable")
                    ->expected(0, 1);
  app.add_option("--listen", s.listen, "HOST:PORT to bind when systemd passes no socket (IPv6: [::1]:3000)");
  app.add_option("--backlog", s.backlog, "listen() backlog when binding --listen")->check(range(bounds::backlog));
  app.add_option("--workers", s.workers,
                 "worker processes; 0 = one per CPU this process may use (affinity, cgroup cpu.max)")
      ->check(range(bounds::workers));
  SecondsOption drain(s.drain_timeout);
  app.add_option("--drain-timeout", drain.seconds, "seconds a stopping worker may take to finish in-flight requests")
      ->check(range(bounds::drain_seconds));
  SecondsOption start(s.start_timeout);
  app.add_option("--start-timeout", start.seconds, "seconds for the initial workers to become ready")
      ->check(range(bounds::start_seconds));
  SecondsOption hang(s.hang_timeout);
  app.add_option("--hang-timeout", hang.seconds, "seconds without a heartbeat before a worker is aborted")
      ->check(range(bounds::hang_seconds));
  app.add_option("--restart-limit", s.restart_limit, "restarts allowed in any --restart-window; past it, no refork")
      ->check(range(bounds::restart_limit));
  SecondsOption restart_window(s.restart_window);
  app.add_option("--restart-window", restart_window.seconds, "seconds of the restart budget's window")
      ->check(range(bounds::restart_window_seconds));
  SecondsOption min_uptime(s.min_uptime);
  app.add_option("--min-uptime", min_uptime.seconds,
                 "a worker that dies sooner without answering a request failed to start (backoff)")
      ->check(range(bounds::min_uptime_seconds));
  SecondsOption terminal(s.terminal_timeout);
  app.add_option("--terminal-timeout", terminal.seconds,
                 "seconds with the restart budget spent and no worker ready before corral exits 1")
      ->check(range(bounds::terminal_seconds));
  app.add_option("--max-requests", s.max_requests, "recycle a worker after about this many requests; 0: off")
      ->check(range(bounds::max_requests));
  app.add_option("--max-rss", s.max_rss_mib, "recycle a worker whose resident memory exceeds this many MiB; 0: off")
      ->check(range(bounds::max_rss_mib));
  app.add_flag("--debug-fail-start", s.debug_fail_start,
               "workers fail during start, for crash-loop tests (needs --enable-debug-routes)");
  app.add_flag("--enable-debug-routes", s.enable_debug_routes,
               "serve /debug/throw, /debug/segv, /debug/sleep and /debug/hang (never in production)");
  app.add_option("--max-header-bytes", s.http.max_header_bytes, "largest request line plus headers; larger gets 431")
      ->check(range(bounds::header_bytes));
  app.add_option("--max-body-bytes", s.http.max_body_bytes, "largest request body; larger gets 413")
      ->check(range(bounds::body_bytes));
  SecondsOption keepalive(s.http.keepalive_timeout);
  app.add_option("--keepalive-timeout", keepalive.seconds, "seconds an idle keep-alive connection is kept open")
      ->check(range(bounds::keepalive_seconds));
  SecondsOption request(s.http.request_timeout);
  app.add_option("--request-timeout", request.seconds, "seconds from a request's first byte to its end; slower gets 408")
      ->check(range(bounds::io_seconds));
  SecondsOption send(s.http.send_timeout);
  app.add_option("--send-timeout", send.seconds, "seconds to write one response before the connection is dropped")
      ->check(range(bounds::io_seconds));
  std::string log_level = log_level_name(s.log_level);
  app.add_option("--log-level", log_level, log_level_names)->check([](const std::string& name) {
    return parse_log_level(name) ? std::string{} : fmt::format("must be one of {}", log_level_names);
  });

  // Set by the supervisor when it starts a worker; not for people.
  WorkerIdentity worker;
  bool is_worker = false;
  const std::string internal;  // an empty group hides these from --help
  app.add_flag("--worker", is_worker)->group(internal);
  app.add_option("--worker-slot", worker.slot)->group(internal);
  app.add_option("--worker-generation", worker.generation)->group(internal);
  app.add_option("--supervisor-pid", worker.supervisor_pid)->group(internal);
  app.add_option("--listen-fd", worker.listen_fds)->group(internal);
  app.add_option("--channel-fd", worker.channel_fd)->group(internal);
  app.add_option("--load-board-fd", worker.load_board_fd)->group(internal);

  try {
    // CLI11 takes the arguments last to first.
    std::vector<std::string> reversed(arguments.rbegin(), arguments.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    throw ExitRequest{code == 0 ? exit_code::ok : exit_code::usage};
  }
  for (auto* option : {&drain, &start, &hang, &restart_window, &min_uptime, &terminal, &keepalive, &request, &send}) {
    option->apply();
  }
  s.log_level = *parse_log_level(log_level);
  if (is_worker) parsed.worker = worker;
  parsed.check_config = check->count() > 0;
  if (!check_path.empty()) {
    parsed.config_path = check_path;
  } else if (config->count() > 0) {
    parsed.config_path = config_path;
  }
  return parsed;
}

}  // namespace

CommandLine parse_arguments(const std::vector<std::string>& arguments) {
  CommandLine result;
  result.arguments = arguments;
  // First pass: which file? Second pass: the flags again, on top of the file's values.
  Settings scratch;
  const auto first = apply_flags(arguments, scratch);
  if (first.config_path) apply_config_file(*first.config_path, result.settings);
  const auto parsed = apply_flags(arguments, result.settings);
  if (result.settings.debug_fail_start && !result.settings.enable_debug_routes) {
    std::fprintf(stderr, "corral: --debug-fail-start is a test aid: it needs --enable-debug-routes too\n");
    throw ExitRequest{exit_code::usage};
  }
  result.worker = parsed.worker;
  result.config_path = parsed.config_path;
  result.check_config = parsed.check_config;
  return result;
}

CommandLine parse_command_line(int argc, const char* const* argv) {
  return parse_arguments(std::vector<std::string>(argv + 1, argv + argc));
}

std::vector<std::string> worker_arguments(const Settings& s, const WorkerIdentity& worker) {
  std::vector<std::string> args{
      "--worker",
      "--worker-slot", std::to_string(worker.slot),
      "--worker-generation", std::to_string(worker.generation),
      "--supervisor-pid", std::to_string(worker.supervisor_pid),
      "--channel-fd", std::to_string(worker.channel_fd),
      "--drain-timeout", seconds_text(s.drain_timeout),
      "--max-header-bytes", std::to_string(s.http.max_header_bytes),
      "--max-body-bytes", std::to_string(s.http.max_body_bytes),
      "--keepalive-timeout", seconds_text(s.http.keepalive_timeout),
      "--request-timeout", seconds_text(s.http.request_timeout),
      "--send-timeout", seconds_text(s.http.send_timeout),
      "--log-level", log_level_name(s.log_level),
  };
  if (worker.load_board_fd >= 0) {
    args.push_back("--load-board-fd");
    args.push_back(std::to_string(worker.load_board_fd));
  }
  for (const int fd : worker.listen_fds) {
    args.push_back("--listen-fd");
    args.push_back(std::to_string(fd));
  }
  if (s.enable_debug_routes) args.push_back("--enable-debug-routes");
  if (s.debug_fail_start) args.push_back("--debug-fail-start");
  return args;
}

}  // namespace corral
