#pragma once

#include <string_view>

#include "config/settings.hpp"
#include "http/router.hpp"
#include "worker/task_runner.hpp"

namespace corral {

// Entry point of a worker process: logging, parent-death signal, crash guard, then the
// worker's event loop serving `router` and running the `tasks` the supervisor sends;
// `name` is the service's, for the process title. Returns the exit code; errors are
// logged here, once.
int run_worker(const Settings& settings, const WorkerIdentity& identity, const http::Router& router,
               const TaskFunctions& tasks, std::string_view name);

}  // namespace corral
