#include "store/worker_store.hpp"

#include <spdlog/spdlog.h>

namespace corral::detail {

struct StoreAccess {
  static Store make(WorkerStore& owner) { return Store(owner); }
};

namespace {

class UnconfiguredStore final : public StoreBackend {
 public:
  explicit UnconfiguredStore(std::string reason) : reason_(std::move(reason)) {}

  bool answers_inline(Access) const override { return true; }
  StoreHealth health() const override { return StoreHealth::off; }
  void get(KeySpace, std::string_view, Callback<std::optional<std::string>> done) override { done(failure()); }
  void set(KeySpace, std::string_view, std::string_view, std::optional<std::chrono::milliseconds>,
           Callback<Done> done) override {
    done(failure());
  }
  void replace(KeySpace, std::string_view, std::string_view, std::chrono::milliseconds,
               Callback<bool> done) override {
    done(failure());
  }
  void erase(KeySpace, std::string_view, Callback<Done> done) override { done(failure()); }
  void increment(std::string_view, std::int64_t, Callback<std::int64_t> done) override { done(failure()); }

 private:
  StoreFailure failure() {
    if (!logged_) spdlog::error("{}", reason_);
    logged_ = true;
    return StoreFailure{StoreFailure::Kind::unavailable, reason_, std::chrono::seconds(60)};
  }
  std::string reason_;
  bool logged_ = false;
};

}  // namespace

WorkerStore::WorkerStore(std::shared_ptr<StoreBackend> backend, SessionOptions sessions, Loop& loop,
                         WallClock now_ms)
    : store_(StoreAccess::make(*this)),
      sessions_(std::move(sessions)),
      loop_(loop),
      now_ms_(std::move(now_ms)),
      backend_(std::move(backend)) {}

std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<StoreBackend> unconfigured_store(std::string reason) {
  return std::make_shared<UnconfiguredStore>(std::move(reason));
}

const char* health_name(StoreHealth health) {
  switch (health) {
    case StoreHealth::off:
      return "off";
    case StoreHealth::up:
      return "up";
    case StoreHealth::down:
      return "down";
  }
  return "unknown";
}

}  // namespace corral::detail
