// corral: one binary, two roles. Started by systemd or a person it is the supervisor;
// started by the supervisor with --worker it is a worker.
#include <cstdio>

#include "common/exit_code.hpp"
#include "common/process_title.hpp"
#include "config/command_line.hpp"
#include "config/config_check.hpp"
#include "config/config_file.hpp"
#include "supervisor/run_supervisor.hpp"
#include "worker/run_worker.hpp"

int main(int argc, char** argv) {
  corral::process_title::init(argc, argv);
  try {
    auto command_line = corral::parse_command_line(argc, argv);
    if (command_line.check_config) return corral::check_configuration(command_line);
    if (command_line.worker) return corral::run_worker(command_line.settings, *command_line.worker);
    return corral::run_supervisor(std::move(command_line));
  } catch (const corral::ExitRequest& request) {
    return request.code;
  } catch (const corral::ConfigError& error) {
    std::fprintf(stderr, "corral: configuration error: %s\n", error.what());
    return corral::exit_code::usage;
  }
}
