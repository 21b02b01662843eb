#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace corral {

class Response;
namespace detail {
class WorkerStore;
struct StoreAccess;
struct SessionAccess;
}  // namespace detail

// State shared by every worker, and by every machine on one Redis: keys with values,
// optional expiry and atomic counters. The store is SQLite in the state directory by
// default, or Redis (`store = "redis://host:6379/0"`); see docs/library.md.
//
// Every operation continues a response: it takes the handler's Response and a function
// that receives the result and the Response to answer with. That function runs only on
// success and is written like a handler (it may throw ClientError, call the store
// again or defer). When the store cannot answer (Redis down, SQLite locked past the
// store timeout, a full disk), the client gets 503 with Retry-After instead and the
// function is not called: a handler never sees a half-done store call. The handler
// returns after the call; the answer is the function's.
//
//   request.store().increment("visits", 1, response, [](std::int64_t visits, corral::Response& response) {
//     response.text(200, std::to_string(visits));
//   });
//
// With SQLite a read's function runs before the call returns, and a write's once the
// writes that arrived in the same turn of the worker's loop have been committed
// together (a read made after a write in that turn waits for the commit too); with
// Redis it runs when the reply arrives. Meanwhile the worker serves other connections
// (and a function whose client has gone is not run). A response is continued once:
// make the next call from the function, with the Response it was given
// (std::logic_error otherwise, on either backend). Keys are any bytes up to 512;
// values up to 1 MiB.
class Store {
 public:
  using Then = std::function<void(Response&)>;
  using ThenValue = std::function<void(std::optional<std::string> value, Response&)>;
  using ThenCount = std::function<void(std::int64_t count, Response&)>;

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The value of `key`; nullopt if it was never set, was erased or has expired.
  void get(std::string_view key, Response& response, ThenValue then);
  // Sets `key` to `value`, without expiry, or expiring after `ttl` (1 ms or more).
  void set(std::string_view key, std::string_view value, Response& response, Then then);
  void set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl, Response& response,
           Then then);
  void erase(std::string_view key, Response& response, Then then);
  // Adds `by` to the integer at `key` (absent counts as 0) in one atomic step, across
  // every worker and machine, and gives the new value. A value that is not an integer,
  // or an overflow, is the handler's bug: the client gets 500.
  void increment(std::string_view key, std::int64_t by, Response& response, ThenCount then);

 private:
  friend struct detail::StoreAccess;
  explicit Store(detail::WorkerStore& owner) : owner_(&owner) {}
  detail::WorkerStore* owner_;
};

// A visitor's session: string fields kept in the store under a random id that only its
// cookie carries. Reach it with Request::session(). Changes are saved when the answer
// is sent, and before it is: a client that got an answer has its session saved (a
// failed save answers 503). The Session lives until then, so functions of store calls
// made from the session's function may use it too. Two requests of one session that
// change it at once: the one saved last wins, as a whole; but a session destroyed
// (logout) stays destroyed, whatever another request saves after.
class Session {
 public:
  // A field; nullopt if not set.
  std::optional<std::string_view> get(std::string_view key) const;
  void set(std::string_view key, std::string_view value);
  void erase(std::string_view key);
  const std::map<std::string, std::string, std::less<>>& fields() const noexcept { return fields_; }

  // True when the request brought no valid session cookie (or its session expired).
  bool is_new() const noexcept { return is_new_; }
  // Gives the session a new id and removes the old one, keeping the fields: call it on
  // login, so that an id an attacker planted before the login is worth nothing.
  void regenerate() noexcept { regenerate_ = true; }
  // Removes the session from the store and expires the cookie.
  void destroy() noexcept;

 private:
  friend struct detail::SessionAccess;
  Session() = default;
  std::map<std::string, std::string, std::less<>> fields_;
  bool is_new_ = true;
  bool changed_ = false;
  bool regenerate_ = false;
  bool destroyed_ = false;
};

}  // namespace corral
