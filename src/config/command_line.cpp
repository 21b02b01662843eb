#include "config/command_line.hpp"

#include <cmath>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/exit_code.hpp"

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

const std::map<std::string, spdlog::level::level_enum> log_levels{
    {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},   {"warning", spdlog::level::warn},
    {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
};

std::string log_level_name(spdlog::level::level_enum level) {
  for (const auto& [name, value] : log_levels) {
    if (value == level) return name;
  }
  return "info";
}

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv) {
  CommandLine result;
  auto& s = result.settings;
  CLI::App app{"corral: a socket-activated prefork HTTP service.\n"
               "Run by systemd through corral.socket, or on its own for development.",
               "corral"};
  app.option_defaults()->always_capture_default();

  app.add_option("--listen", s.listen,
                 "HOST:PORT to bind when systemd passes no socket (IPv6: [::1]:3000)");
  app.add_option("--backlog", s.backlog, "listen() backlog when binding --listen")
      ->check(CLI::Range(1, 65535));
  app.add_option("--workers", s.workers,
                 "worker processes; 0 = one per CPU this process may use (affinity, cgroup cpu.max)")
      ->check(CLI::Range(0u, 1024u));
  SecondsOption drain(s.drain_timeout);
  app.add_option("--drain-timeout", drain.seconds,
                 "seconds a stopping worker may take to finish in-flight requests")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_flag("--enable-debug-routes", s.enable_debug_routes,
               "serve /debug/throw, /debug/segv, /debug/sleep and /debug/hang (never in production)");
  app.add_option("--max-header-bytes", s.http.max_header_bytes,
                 "largest request line plus headers; larger gets 431")
      ->check(CLI::Range(std::size_t{512}, std::size_t{1} << 20));
  app.add_option("--max-body-bytes", s.http.max_body_bytes, "largest request body; larger gets 413")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 30));
  SecondsOption keepalive(s.http.keepalive_timeout);
  app.add_option("--keepalive-timeout", keepalive.seconds,
                 "seconds an idle keep-alive connection is kept open")
      ->check(CLI::Range(0.0, 3600.0));
  SecondsOption request(s.http.request_timeout);
  app.add_option("--request-timeout", request.seconds,
                 "seconds from a request's first byte to its end; slower gets 408")
      ->check(CLI::Range(0.001, 3600.0));
  SecondsOption send(s.http.send_timeout);
  app.add_option("--send-timeout", send.seconds,
                 "seconds to write one response before the connection is dropped")
      ->check(CLI::Range(0.001, 3600.0));
  std::string log_level = log_level_name(s.log_level);
  app.add_option("--log-level", log_level, "trace, debug, info, warning, error or critical")
      ->check(CLI::IsMember(log_levels));

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    throw ExitRequest{code == 0 ? exit_code::ok : exit_code::usage};
  }
  for (auto* option : {&drain, &keepalive, &request, &send}) option->apply();
  s.log_level = log_levels.at(log_level);
  if (is_worker) result.worker = worker;
  return result;
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
  for (const int fd : worker.listen_fds) {
    args.push_back("--listen-fd");
    args.push_back(std::to_string(fd));
  }
  if (s.enable_debug_routes) args.push_back("--enable-debug-routes");
  return args;
}

}  // namespace corral
