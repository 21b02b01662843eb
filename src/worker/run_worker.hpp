#pragma once

#include "config/settings.hpp"

namespace corral {

// Entry point of a worker process: logging, parent-death signal, crash guard, then the
// worker's event loop. Returns the exit code; errors are logged here, once.
int run_worker(const Settings& settings, const WorkerIdentity& identity);

}  // namespace corral
