#include "store/open_store.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/store_address.hpp"
#include "store/redis_backend.hpp"
#include "store/sqlite_backend.hpp"

namespace corral::detail {
namespace {

constexpr const char* credential_name = "store-password";
constexpr const char* sentinel_credential_name = "store-sentinel-password";

std::string no_state_directory() {
  return "store: no state directory, so no SQLite store: run under systemd with StateDirectory= (the packaged "
         "unit does), or pass --state-dir DIR; store routes answer 503 meanwhile";
}

std::string read_password_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    throw std::runtime_error(fmt::format("store: cannot read the password file {}: check that it exists and that "
                                         "the service's user may read it",
                                         path));
  }
  std::stringstream text;
  text << file.rdbuf();
  auto password = text.str();
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
  return password;
}

}  // namespace

std::string state_directory(const StoreSettings& settings) {
  if (!settings.state_dir.empty()) return settings.state_dir;
  const char* from_systemd = std::getenv("STATE_DIRECTORY");
  if (from_systemd == nullptr) return {};
  const std::string_view directories(from_systemd);
  return std::string(directories.substr(0, directories.find(':')));
}

std::string sqlite_store_path(const std::string& state_directory) {
  return state_directory + "/store.sqlite3";
}

std::string sqlite_path_of(const Settings& settings) {
  if (parse_store_address(settings.store.address).kind != StoreAddress::Kind::sqlite) return {};
  const auto directory = state_directory(settings.store);
  return directory.empty() ? std::string{} : sqlite_store_path(directory);
}

namespace {

// A credential systemd passed (LoadCredential=), if it passed one by that name.
std::optional<std::string> credential(const char* name) {
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
  if (credentials == nullptr) return std::nullopt;
  const auto path = fmt::format("{}/{}", credentials, name);
  std::ifstream probe(path);
  if (!probe) return std::nullopt;
  return read_password_file(path);
}

}  // namespace

std::optional<std::string> store_password(const StoreSettings& settings) {
  if (!settings.password_file.empty()) return read_password_file(settings.password_file);
  return credential(credential_name);
}

std::optional<std::string> sentinel_password() {
  return credential(sentinel_credential_name);
}

std::string check_store_at_start(const Settings& settings) {
  const auto address = parse_store_address(settings.store.address);
  if (address.kind != StoreAddress::Kind::sqlite) {
    (void)store_password(settings.store);
    if (address.kind == StoreAddress::Kind::redis_sentinel) (void)sentinel_password();
    return address.describe();
  }
  const auto directory = state_directory(settings.store);
  if (directory.empty()) {
    spdlog::warn("{}", no_state_directory());
    return "off";
  }
  const auto path = sqlite_store_path(directory);
  check_sqlite_store(path);
  return "sqlite " + path;
}

std::unique_ptr<WorkerStore> open_worker_store(const Settings& settings, std::string_view service_name,
                                               EventLoop& loop, Loop& handler_loop) {
  SessionOptions sessions{fmt::format("{}_session", service_name), settings.store.session_lifetime,
                          settings.store.secure_cookie};
  const auto address = parse_store_address(settings.store.address);
  std::shared_ptr<StoreBackend> backend;
  if (address.kind != StoreAddress::Kind::sqlite) {
    backend = std::make_shared<RedisBackend>(
        loop, address,
        RedisBackend::Passwords{store_password(settings.store),
                                address.kind == StoreAddress::Kind::redis_sentinel ? sentinel_password() : std::nullopt},
        service_name, settings.store.timeout, settings.store.wait_replicas);
  } else if (const auto directory = state_directory(settings.store); directory.empty()) {
    backend = unconfigured_store(no_state_directory());
  } else {
    backend = std::make_shared<SqliteBackend>(
        sqlite_store_path(directory), settings.store.timeout, [&loop] { return loop.wall_ms(); },
        [&loop](std::function<void()> work) { loop.defer(std::move(work)); });
  }
  // Expiry is compared against one wall-clock reading per loop turn, taken at its first
  // use in the turn.
  return std::make_unique<WorkerStore>(std::move(backend), std::move(sessions), handler_loop,
                                       [&loop] { return loop.wall_ms(); });
}

}  // namespace corral::detail
