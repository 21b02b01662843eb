#include "supervisor/run_supervisor.hpp"

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "common/exit_code.hpp"
#include "common/logging.hpp"
#include "common/process_title.hpp"
#include "net/endpoint.hpp"
#include "sd/listen_fds.hpp"
#include "supervisor/cpu_count.hpp"
#include "supervisor/supervisor.hpp"

namespace corral {

int run_supervisor(Settings settings) {
  init_logging({"supervisor"}, settings.log_level);
  process_title::set("corral: supervisor");
  try {
    auto listen_fds = sd::adopt_listen_fds();
    if (listen_fds.empty()) {
      net::Endpoint endpoint;
      try {
        endpoint = net::parse_endpoint(settings.listen);
      } catch (const std::invalid_argument& error) {
        spdlog::error("--listen: {}", error.what());
        return exit_code::usage;
      }
      listen_fds.push_back(net::bind_listening_socket(endpoint, settings.backlog));
    }
    if (settings.workers == 0) settings.workers = default_worker_count();
    Supervisor supervisor(std::move(settings), std::move(listen_fds));
    return supervisor.run();
  } catch (const std::exception& error) {
    spdlog::critical("supervisor failed: {}", error.what());
    return exit_code::failure;
  }
}

}  // namespace corral
