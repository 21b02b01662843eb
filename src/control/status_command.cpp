#include "control/status_command.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>

#include "control/client.hpp"
#include "control/pool_view.hpp"
#include "control/protocol.hpp"
#include "control/socket_option.hpp"

namespace corral::control {
namespace {

constexpr auto answer_timeout = std::chrono::seconds(2);

// The status, as JSON; throws ControlError or std::runtime_error with the reason.
std::string fetch_status(const std::string& socket) {
  return answer_result(exchange(socket, command_line("status"), answer_timeout), "status");
}

}  // namespace

int run_status_command(int argc, char** argv, const std::string& service_name) {
  CLI::App app{service_name + " status: every worker of the running service, like pm2 list",
               service_name + " status"};
  bool json = false;
  bool watch = false;
  std::string socket;
  app.add_flag("--json", json, "print the status as JSON (fields: docs/operations.md)");
  app.add_flag("--watch", watch, "redraw every second, like top (Ctrl-C ends it)");
  add_socket_option(app, socket, service_name);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  for (;;) {
    try {
      const auto status = fetch_status(socket);
      const auto text = json ? status + "\n" : render_table(pool_view_from_json(status));
      if (watch) std::fputs("\033[H\033[2J", stdout);  // home and clear, as top redraws
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "%s status: %s\n", service_name.c_str(), error.what());
      if (!watch) return 1;
    }
    if (!watch) return 0;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace corral::control
