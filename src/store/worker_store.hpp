#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "corral/loop.hpp"
#include "corral/store.hpp"
#include "store/store_backend.hpp"

namespace corral::detail {

struct SessionOptions {
  std::string cookie_name;  // "<service>_session"
  std::chrono::milliseconds lifetime{std::chrono::hours(24)};
  bool secure_cookie = false;
};

// A worker's store: the backend, the Store handlers reach through their requests, and
// how sessions are kept.
class WorkerStore {
 public:
  using WallClock = std::function<std::int64_t()>;  // ms since the Unix epoch

  // `loop`: where a continuation that throws is reported, like a handler that throws.
  WorkerStore(std::shared_ptr<StoreBackend> backend, SessionOptions sessions, Loop& loop, WallClock now_ms);

  // Told the outcome and duration of every operation (metrics).
  using Observer = std::function<void(bool ok, std::chrono::microseconds duration)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }
  void observe(bool ok, std::chrono::steady_clock::time_point started) const {
    if (observer_) {
      observer_(ok, std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started));
    }
  }

  Store& store() { return store_; }
  StoreBackend& backend() { return *backend_; }
  const SessionOptions& sessions() const { return sessions_; }
  Loop& loop() { return loop_; }
  std::int64_t now_ms() const { return now_ms_(); }

 private:
  Store store_;
  SessionOptions sessions_;
  Loop& loop_;
  WallClock now_ms_;
  Observer observer_;
  // Last, so destroyed first: a backend that fails what still waits when it goes finds
  // everything else here alive.
  std::shared_ptr<StoreBackend> backend_;
};

// The wall clock as the store keeps expiry: ms since the Unix epoch.
std::int64_t system_now_ms();

// The backend of a worker with no store configured (no state directory): every
// operation fails, saying how to configure one.
std::shared_ptr<StoreBackend> unconfigured_store(std::string reason);

}  // namespace corral::detail
