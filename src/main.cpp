// corral: one binary, two roles. Started by systemd or a person it is the supervisor;
// started by the supervisor with --worker it is a worker.
#include "common/process_title.hpp"
#include "config/command_line.hpp"
#include "supervisor/run_supervisor.hpp"
#include "worker/run_worker.hpp"

int main(int argc, char** argv) {
  corral::process_title::init(argc, argv);
  try {
    const auto command_line = corral::parse_command_line(argc, argv);
    if (command_line.worker) return corral::run_worker(command_line.settings, *command_line.worker);
    return corral::run_supervisor(command_line.settings);
  } catch (const corral::ExitRequest& request) {
    return request.code;
  }
}
