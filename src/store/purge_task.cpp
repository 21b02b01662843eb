// purge_expired_store: the task that deletes expired keys and sessions from SQLite.
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "corral/task.hpp"
#include "store/sqlite_backend.hpp"
#include "store/worker_store.hpp"
#include "tasks/task_run_state.hpp"

namespace corral {

void purge_expired_store(const TaskRun& run) {
  const auto& state = detail::TaskRunAccess::state(run);
  if (state.sqlite_path.empty()) return;  // Redis expires keys itself; no store: nothing to purge
  // A connection of its own: the worker's belongs to its event loop's thread.
  detail::SqliteBackend store(state.sqlite_path, state.store_timeout, detail::system_now_ms);
  std::int64_t purged = 0;
  // 1,000 rows per transaction, so that no request waits long for the database lock.
  for (;;) {
    const bool more = store.purge_expired();
    purged += store.purged();
    if (!store.purge_error().empty()) {
      throw std::runtime_error("purge_expired_store: deleting expired rows from " + state.sqlite_path +
                               " failed; the next run tries again: " + store.purge_error());
    }
    if (!more || run.stop_requested()) break;
  }
  if (purged > 0) spdlog::info("{}: deleted {} expired keys and sessions", run.task(), purged);
}

}  // namespace corral
