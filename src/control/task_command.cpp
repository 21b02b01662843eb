#include "control/task_command.hpp"

#include <chrono>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "control/client.hpp"
#include "control/protocol.hpp"
#include "control/socket_option.hpp"

namespace corral::control {
namespace {

constexpr auto answer_timeout = std::chrono::seconds(2);

}  // namespace

int run_task_command(int argc, char** argv, const std::string& service_name) {
  CLI::App app{service_name + " task: the running service's scheduled tasks", service_name + " task"};
  app.require_subcommand(1);
  auto* run = app.add_subcommand("run", "start a run of TASK now, on one worker (or every worker for run_on = all)");
  std::string task;
  std::string socket;
  run->add_option("TASK", task, "the task's name (corral status lists them)")->required();
  add_socket_option(*run, socket, service_name);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    const auto answer = nlohmann::json::parse(
        answer_result(exchange(socket, task_run_command_line(task), answer_timeout), "run"));
    std::vector<unsigned> workers = answer.value("workers", std::vector<unsigned>{});
    std::string list;
    for (const auto worker : workers) list += (list.empty() ? "" : ", ") + std::to_string(worker);
    std::printf("task %s: started on worker%s %s; its outcome goes to the journal (CORRAL_TASK=%s)\n", task.c_str(),
                workers.size() > 1 ? "s" : "", list.c_str(), task.c_str());
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s task run %s: %s\n", service_name.c_str(), task.c_str(), error.what());
    return 1;
  }
}

}  // namespace corral::control
