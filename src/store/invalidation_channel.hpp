#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "event/deferral_guard.hpp"
#include "event/event_loop.hpp"
#include "store/hiredis_events.hpp"

struct redisAsyncContext;
struct redisReply;

namespace corral::detail {

// Where Redis tells a worker which of the keys it read have changed since, so that it
// can keep them in memory (Redis's "client-side caching"). With RESP3 the invalidations
// would come on the connection that reads; hiredis 0.14 speaks only RESP2, so they come
// here: a second connection to the same server, subscribed to __redis__:invalidate, to
// which the reading connection redirects its tracking (CLIENT TRACKING ON REDIRECT id).
//
// It does not reconnect by itself: its owner makes a new one for each connection that
// reads, and drops the cache when this one is lost.
class InvalidationChannel {
 public:
  struct Handlers {
    std::function<void(long long client_id)> subscribed;   // redirect tracking to this id now
    std::function<void(std::string_view key)> invalidated;  // a key changed, expired or was deleted
    std::function<void()> flushed;                          // every key may have (FLUSHALL, FLUSHDB)
    // The connection failed or ended. Nothing more is reported after it.
    std::function<void(const std::string& why)> lost;
  };
  // `port` 0: `host_or_path` is a unix socket. `user` empty: AUTH with the password alone.
  // `client_name`: CLIENT SETNAME, by which the owner recognises this connection in
  // CLIENT LIST.
  InvalidationChannel(EventLoop& loop, const std::string& host_or_path, std::uint16_t port, const std::string& user,
                      const std::optional<std::string>& password, const std::string& client_name, Handlers handlers);
  ~InvalidationChannel();
  InvalidationChannel(const InvalidationChannel&) = delete;
  InvalidationChannel& operator=(const InvalidationChannel&) = delete;

  // `done(true)` once every invalidation Redis queued here before it handled this call
  // has been reported: Redis answers a connection in order, so a write it acknowledged
  // before is in the cache's past. `done(false)` if the channel ends first (at once if
  // it has). A request that arrived before the call may then be answered from memory.
  void barrier(std::function<void(bool answered)> done);

 private:
  struct Hooks;
  void on_reply(redisReply* reply);
  void on_barrier_reply(redisReply* reply);
  void end(const std::string& why);

  EventLoop& loop_;
  Handlers handlers_;
  redisAsyncContext* context_ = nullptr;
  HiredisEvents events_;
  std::optional<long long> client_id_;  // CLIENT ID's answer
  std::deque<std::function<void(bool)>> barriers_;  // oldest first, as Redis answers them
  bool ended_ = false;
  DeferralGuard deferrals_;  // a failed connect, reported after the constructor
};

}  // namespace corral::detail
