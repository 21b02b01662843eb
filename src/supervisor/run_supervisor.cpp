#include "supervisor/run_supervisor.hpp"

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "common/exit_code.hpp"
#include "common/logging.hpp"
#include "common/process_title.hpp"
#include "net/endpoint.hpp"
#include "sd/listen_fds.hpp"
#include "supervisor/supervisor.hpp"

namespace corral {

int run_supervisor(const ProgramDescription& program, CommandLine command_line) {
  init_logging({"supervisor", program.name}, command_line.settings.log_level);
  process_title::set(program.name + ": supervisor");
  try {
    auto adopted = sd::adopt_listen_fds();
    auto listen_fds = std::move(adopted.http);
    const bool socket_activated = !listen_fds.empty();
    // corral-metrics.socket's, or --metrics-listen: never one of the public sockets.
    auto metrics_listener = std::move(adopted.metrics);
    if (!metrics_listener.valid() && !command_line.settings.metrics_listen.empty()) {
      // Serving matters more than being measured: a metrics address that cannot be
      // bound is an error in the log, not a service down.
      try {
        metrics_listener = net::bind_listening_socket(net::parse_endpoint(command_line.settings.metrics_listen), 64);
      } catch (const std::exception& error) {
        spdlog::error("metrics_listen {}: {}; serving without metrics", command_line.settings.metrics_listen,
                      error.what());
      }
    }
    if (!socket_activated) {
      net::Endpoint endpoint;
      try {
        endpoint = net::parse_endpoint(command_line.settings.listen);
      } catch (const std::invalid_argument& error) {
        spdlog::error("listen: {}", error.what());
        return exit_code::usage;
      }
      listen_fds.push_back(net::bind_listening_socket(endpoint, command_line.settings.backlog));
    }
    Supervisor supervisor(program, std::move(command_line), std::move(listen_fds), socket_activated,
                          std::move(metrics_listener));
    return supervisor.run();
  } catch (const std::exception& error) {
    spdlog::critical("supervisor failed: {}", error.what());
    return exit_code::failure;
  }
}

}  // namespace corral
