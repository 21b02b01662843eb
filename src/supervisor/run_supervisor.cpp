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
    auto listen_fds = sd::adopt_listen_fds();
    const bool socket_activated = !listen_fds.empty();
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
    Supervisor supervisor(program, std::move(command_line), std::move(listen_fds), socket_activated);
    return supervisor.run();
  } catch (const std::exception& error) {
    spdlog::critical("supervisor failed: {}", error.what());
    return exit_code::failure;
  }
}

}  // namespace corral
