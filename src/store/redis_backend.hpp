#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "event/event_loop.hpp"
#include "store/backoff.hpp"
#include "config/store_address.hpp"
#include "store/store_backend.hpp"

struct redisAsyncContext;
struct redisReply;

namespace corral::detail {

// The store on Redis, through hiredis's asynchronous API on the worker's own event
// loop: a command never blocks the loop, and every connection of the worker shares one
// Redis connection, whose commands are pipelined (Redis answers in order). Keys are
// prefixed with the service's name, so services can share a Redis.
//
// Down is a state, not an error: commands fail at once (503) while it reconnects with
// backoff; a reply later than `timeout` drops the connection, failing what was waiting,
// and reconnects.
class RedisBackend final : public StoreBackend {
 public:
  // Keys are "SERVICE:key"; sessions "SERVICE@session:id", which no key can name.
  RedisBackend(EventLoop& loop, StoreAddress address, std::optional<std::string> password,
               std::string_view service_name, std::chrono::milliseconds timeout);
  ~RedisBackend() override;
  RedisBackend(const RedisBackend&) = delete;
  RedisBackend& operator=(const RedisBackend&) = delete;

  bool answers_inline() const override { return false; }
  // Down from a failure until the next connection succeeds (not while the first one is
  // being made).
  StoreHealth health() const override { return down_ ? StoreHealth::down : StoreHealth::up; }

  void get(KeySpace space, std::string_view key, Callback<std::optional<std::string>> done) override;
  void set(KeySpace space, std::string_view key, std::string_view value, std::optional<std::chrono::milliseconds> ttl,
           Callback<Done> done) override;
  void replace(KeySpace space, std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
               Callback<bool> done) override;
  void erase(KeySpace space, std::string_view key, Callback<Done> done) override;
  void increment(std::string_view key, std::int64_t by, Callback<std::int64_t> done) override;
  // "SERVICE@task:RUN": SET NX PX, or a retry by the same instance (one script).
  void claim_run(std::string_view run, std::uint64_t token, std::chrono::milliseconds ttl,
                 Callback<bool> done) override;
  // Compare-and-delete (or compare-and-shorten to `keep`), one script.
  void release_run(std::string_view run, std::uint64_t token, std::chrono::milliseconds keep,
                   Callback<Done> done) override;

  // For the hiredis callbacks and event hooks (C functions).
  struct Hooks;

 private:
  // A reply (nullptr when the connection went away first) and the context's error.
  using ReplyHandler = std::function<void(redisReply* reply, const std::string& error)>;

  void connect();
  void on_connected(bool ok, const std::string& error);
  void on_disconnected(bool ok, const std::string& error);
  void went_down(const std::string& why);
  void command(std::vector<std::string_view> arguments, ReplyHandler on_reply);
  void fail_soon(ReplyHandler on_reply);
  void watch(std::uint32_t events, bool on);
  void on_socket_events(std::uint32_t events);
  void arm_deadline();
  void on_deadline();
  // A failed reply: misuse (a wrong type, an overflow) or unavailable (no reply,
  // loading, read-only replica, no memory ...).
  StoreFailure failure(const char* command, redisReply* reply, const std::string& error) const;
  std::string key(KeySpace space, std::string_view key) const;

  EventLoop& loop_;
  StoreAddress address_;
  std::optional<std::string> password_;
  std::string data_prefix_;
  std::string session_prefix_;
  std::string task_prefix_;
  std::chrono::milliseconds timeout_;
  redisAsyncContext* context_ = nullptr;
  bool closing_ = false;
  bool down_ = false;
  bool up_ = false;  // connected, and nothing failed since
  int watched_fd_ = -1;
  std::uint32_t interest_ = 0;
  FunctionHandler socket_handler_;
  // When each waiting command was sent, oldest first: replies come in that order.
  std::deque<EventLoop::Clock::time_point> sent_at_;
  Timer deadline_timer_;
  Timer reconnect_timer_;
  Backoff backoff_;
  std::chrono::milliseconds next_retry_{0};
};

}  // namespace corral::detail
