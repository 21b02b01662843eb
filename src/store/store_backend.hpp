#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "store/outcome.hpp"

namespace corral::detail {

// What the store looks like to its users in a worker: SQLite or Redis.
enum class StoreHealth : std::uint32_t {
  off = 0,   // no store configured (no state directory)
  up = 1,
  down = 2,  // the last attempt failed; reconnecting or retrying
};
const char* health_name(StoreHealth health);

// What a key belongs to: the service's own keys (Store), or sessions. The two never
// meet: no Store key can name a session.
enum class KeySpace { data, session };

// Whether an operation only reads, or changes data.
enum class Access { read, write };

// A store backend. Every operation reports through its callback exactly once: before
// it returns if answers_inline(its access) says so when it is called, otherwise later,
// on the worker's event loop.
class StoreBackend {
 public:
  template <class T>
  using Callback = std::function<void(Outcome<T>)>;

  virtual ~StoreBackend() = default;

  virtual bool answers_inline(Access access) const = 0;
  virtual StoreHealth health() const = 0;
  // Redis Sentinel: the primary in use ("10.0.0.2:6379"; "" for none yet, or another
  // store), and how many times it changed (failovers seen).
  virtual std::string primary() const { return {}; }
  virtual std::uint64_t failovers() const { return 0; }

  virtual void get(KeySpace space, std::string_view key, Callback<std::optional<std::string>> done) = 0;
  // ttl: none, or how long the key lives.
  virtual void set(KeySpace space, std::string_view key, std::string_view value,
                   std::optional<std::chrono::milliseconds> ttl, Callback<Done> done) = 0;
  // Like set(), but only over a key that exists and has not expired; false if none did
  // (a session destroyed meanwhile stays destroyed).
  virtual void replace(KeySpace space, std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                       Callback<bool> done) = 0;
  virtual void erase(KeySpace space, std::string_view key, Callback<Done> done) = 0;
  // A data key's integer; its expiry, if it has one, is kept.
  virtual void increment(std::string_view key, std::int64_t by, Callback<std::int64_t> done) = 0;

  // A task run's lock across machines, for a store they share: takes `run` (a task's
  // name and due time) for the corral instance `token`, for `ttl`; true if taken, or
  // already this instance's (a retry). A store on one machine has nothing to share:
  // always true.
  virtual void claim_run(std::string_view run, std::uint64_t token, std::chrono::milliseconds ttl,
                         Callback<bool> done) {
    (void)run, (void)token, (void)ttl;
    done(true);
  }
  // Releases what claim_run took, if it is still `token`'s: deleted, or kept for `keep`
  // more (so that an instance whose clock lags cannot take the same run again).
  virtual void release_run(std::string_view run, std::uint64_t token, std::chrono::milliseconds keep,
                           Callback<Done> done) {
    (void)run, (void)token, (void)keep;
    done(Done{});
  }

  // Deletes some of what has expired, for a backend that does not do it itself; the
  // purge task (purge_expired_store) calls it again while it returns true (more
  // left), so that no single call holds the store for long.
  virtual bool purge_expired() { return false; }
};

}  // namespace corral::detail
