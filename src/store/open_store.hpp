#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/settings.hpp"
#include "corral/loop.hpp"
#include "event/event_loop.hpp"
#include "store/worker_store.hpp"

namespace corral::detail {

// The state directory: --state-dir, else $STATE_DIRECTORY (its first entry); empty if
// neither is set.
std::string state_directory(const StoreSettings& settings);
// "/var/lib/corral/store.sqlite3".
std::string sqlite_store_path(const std::string& state_directory);
// The SQLite store's file when that is the store; empty otherwise (Redis, or none).
std::string sqlite_path_of(const Settings& settings);

// The Redis password: --store-password-file, else the store-password credential
// ($CREDENTIALS_DIRECTORY/store-password) if systemd passed one; nullopt for none.
// Throws std::runtime_error naming the file if it cannot be read.
std::optional<std::string> store_password(const StoreSettings& settings);
// The sentinels' password, from the store-sentinel-password credential; nullopt for
// none.
std::optional<std::string> sentinel_password();

// The supervisor's check before any worker starts: the SQLite file is a database this
// user can write, the Redis address parses and its password can be read. Throws
// std::runtime_error saying what to do. Returns how the store is described in logs
// and the status line ("sqlite /var/lib/corral/store.sqlite3").
std::string check_store_at_start(const Settings& settings);

// A worker's store, opened after the worker started. Expired SQLite rows are deleted
// by a task (purge_expired_store), not here.
std::unique_ptr<WorkerStore> open_worker_store(const Settings& settings, std::string_view service_name,
                                               EventLoop& loop, Loop& handler_loop);

}  // namespace corral::detail
