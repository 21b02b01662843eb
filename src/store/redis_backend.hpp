#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "event/deferral_guard.hpp"
#include "event/event_loop.hpp"
#include "store/backoff.hpp"
#include "store/hiredis_events.hpp"
#include "store/invalidation_channel.hpp"
#include "store/read_cache.hpp"
#include "store/sentinel_subscription.hpp"
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
//
// With Redis Sentinel (redis-sentinel://), every connection starts by asking a
// sentinel which server is the primary (SENTINEL get-master-addr-by-name, the next
// sentinel in turn when one does not answer), and checks with ROLE that the server it
// reaches is the primary before any command of a request is sent. A lost connection,
// a failed check, or READONLY or LOADING from the server asks again, and a failover
// the sentinels announce (+switch-master) moves the connection at once.
//
// Read cache: a key read is kept in memory (ReadCache) while Redis tracks it for this
// connection (CLIENT TRACKING, redirected to an InvalidationChannel, since hiredis 0.14
// has no RESP3), until Redis says it changed. A read that finds its key there waits for
// a barrier on the channel, asked after the read once the loop finds no event waiting
// (or after a few busy turns, EventLoop::when_idle): Redis answers a
// connection in order, so once the barrier is answered every invalidation for a write
// Redis handled before the read arrived has been applied, on any machine; what is
// still cached then is answered from memory. One barrier is on its way at a time and
// the reads that come meanwhile share the next, so under load a barrier answers many
// reads, and Redis does no work per read. A GET is followed by PTTL, and what it
// read is remembered only if nothing was invalidated or written by this worker while
// both were on their way. A lost channel or connection, a barrier unanswered within
// the timeout, or a failover empties the cache and stops its use until tracking is
// confirmed again.
class RedisBackend final : public StoreBackend {
 public:
  struct Passwords {
    std::optional<std::string> data;      // AUTH on the data servers
    std::optional<std::string> sentinel;  // AUTH on the sentinels
  };
  // Keys are "SERVICE:key"; sessions "SERVICE@session:id", which no key can name.
  // `wait_replicas`: each write waits for WAIT to confirm it on that many replicas.
  RedisBackend(EventLoop& loop, StoreAddress address, Passwords passwords, std::string_view service_name,
               std::chrono::milliseconds timeout, unsigned wait_replicas = 0);
  ~RedisBackend() override;
  RedisBackend(const RedisBackend&) = delete;
  RedisBackend& operator=(const RedisBackend&) = delete;

  bool answers_inline(Access) const override { return false; }
  // Down from a failure until the next connection succeeds (not while the first one is
  // being made).
  StoreHealth health() const override { return down_ ? StoreHealth::down : StoreHealth::up; }
  std::string primary() const override;
  std::uint64_t failovers() const override { return failovers_; }
  // Reads answered from the read cache since the backend was made.
  std::uint64_t cached_reads() const { return cached_reads_; }

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
  ReplyHandler must_succeed(std::string what);
  // Work for later in this loop turn (never from inside hiredis's frames), dropped if
  // this backend is gone by then.
  void defer(std::function<void()> work);

  void connect();
  // Starts a connection (port 0: a unix socket); false, and down, if it could not.
  bool open_context(const std::string& host_or_path, std::uint16_t port);
  // AUTH, SELECT and CLIENT SETNAME, then (Sentinel) ROLE, ahead of what requests
  // queued.
  void send_handshake(bool check_role);
  // Sentinel: ROLE; once it says primary, what requests queued meanwhile is sent.
  void check_role_then_send();
  // Sentinel: one sentinel is asked for the primary; the answer connects to it.
  void ask_sentinel();
  void on_sentinel_answer(redisReply* reply, const std::string& error);
  void connect_to_primary();
  // Sentinel: the sentinels announced a new primary; the connection moves to it.
  void on_switch_master(const HostPort& announced);
  // Drops the connection (from a reply, once its callbacks are done) and connects again.
  void drop_and_reconnect(const std::string& why);
  void on_connected(bool ok, const std::string& error);
  void mark_up();
  void on_disconnected(bool ok, const std::string& error);
  void went_down(const std::string& why);
  // A request's command: under Sentinel it waits (up to the timeout) while the primary
  // is being found and its role checked, so it never reaches a sentinel or a replica.
  void command(std::vector<std::string_view> arguments, ReplyHandler on_reply);
  // Sends on the connection as it is (the connection's own commands).
  void send(std::vector<std::string_view> arguments, ReplyHandler on_reply);
  void send_waiting();
  void fail_waiting(const std::string& why);
  // A command that changes data: with wait_replicas, answered only after WAIT has
  // confirmed it on that many replicas (a reply that is not a single value, or a WAIT
  // that falls short, fails it).
  void write(std::vector<std::string_view> arguments, ReplyHandler on_reply);
  void fail_soon(ReplyHandler on_reply);
  // A task lock's script (claim or release) on `run`'s key, with `token` and
  // `milliseconds`: its integer reply, or the failure (`what` names it).
  void eval_lock_script(const char* script, const char* what, std::string_view run, std::uint64_t token,
                        std::int64_t milliseconds, Callback<long long> done);
  void arm_deadline();
  void on_deadline();
  // The read cache (redis_read_cache.cpp).
  struct CachedRead;
  struct BarrierBatch;
  // Whether `key` may be answered from the cache, after a barrier.
  bool may_be_cached(const std::string& key);
  // The connection has not been closed by the server (POLLRDHUP, without hiredis).
  bool connection_open() const;
  // Joins the reads that wait for the next barrier of the channel.
  void read_after_barrier(std::string key, Callback<std::optional<std::string>> done);
  // Asks the barrier for the gathered reads, unless one is on its way.
  void ask_barrier();
  void schedule_barrier();
  // From the cache what is still there; the rest (or all, without an answer) from Redis.
  void answer_batch(const std::shared_ptr<BarrierBatch>& batch, bool answered);
  // GET, and when tracking, PTTL to remember what it read.
  void fetch(std::string key, Callback<std::optional<std::string>> done);
  // GET's reply, put in `read` by its handler, is remembered once PTTL's has come,
  // unless the cache moved on since both were sent.
  void remember_when_expiry_known(const std::string& key, std::shared_ptr<std::optional<std::string>> read);
  // This worker writes `key`.
  void forget_written(const std::string& key);
  // The connection is usable: a channel, then CLIENT TRACKING redirected to it.
  void start_tracking();
  void on_channel_subscribed(std::uint64_t channel, long long client_id);
  // Empties the cache and stops using it; the channel is dropped. `why`: it failed (said
  // once, and a new channel follows after a backoff); empty: the connection changes.
  void stop_tracking(const std::string& why);
  // This connection's server does not track for us: no cache until the next connection.
  void give_up_tracking(const std::string& why);
  // Something changed that a read on its way may not show: it is not remembered.
  void cache_moved_on() { ++cache_epoch_; }

  // A failed reply: misuse (a wrong type, an overflow) or unavailable (no reply,
  // loading, read-only replica, no memory ...).
  StoreFailure failure(const char* command, redisReply* reply, const std::string& error) const;
  std::string key(KeySpace space, std::string_view key) const;
  // "redis 10.0.0.5:6379/0", or for Sentinel the primary in use.
  std::string describe() const;

  EventLoop& loop_;
  StoreAddress address_;
  Passwords passwords_;
  // Sentinel: whom to ask next, and what the connection now is.
  std::size_t next_sentinel_ = 0;
  std::size_t sentinels_asked_ = 0;  // in this round, without an answer
  bool asking_sentinel_ = false;
  std::optional<HostPort> primary_;       // as a sentinel last named it
  std::optional<HostPort> used_primary_;  // that ROLE confirmed
  std::uint64_t failovers_ = 0;  // changes of used_primary_
  std::string client_name_;  // CLIENT SETNAME: "corral-SERVICE", for CLIENT LIST
  std::string data_prefix_;
  std::string session_prefix_;
  std::string task_prefix_;
  std::chrono::milliseconds timeout_;
  unsigned wait_replicas_ = 0;
  redisAsyncContext* context_ = nullptr;
  std::uint64_t connection_generation_ = 0;  // counts the contexts opened
  bool closing_ = false;
  bool down_ = false;
  DeferralGuard deferrals_;  // what defer() hands the loop
  HiredisEvents events_;
  // When each waiting command was sent, oldest first: replies come in that order.
  std::deque<EventLoop::Clock::time_point> sent_at_;
  Timer deadline_timer_;
  Timer reconnect_timer_;
  // Sentinel: requests' commands held until ROLE has confirmed the primary.
  bool primary_confirmed_ = false;
  struct Waiting {
    std::vector<std::string> arguments;
    ReplyHandler on_reply;
    EventLoop::Clock::time_point since;
  };
  std::deque<Waiting> waiting_;
  Timer waiting_timer_;
  Backoff backoff_;
  std::chrono::milliseconds next_retry_{0};
  std::unique_ptr<SentinelSubscription> switch_master_;  // Sentinel only

  ReadCache cache_{4096, 4 << 20};
  std::shared_ptr<InvalidationChannel> invalidations_;
  std::vector<std::shared_ptr<InvalidationChannel>> retired_channels_;  // freed at the end of the turn
  std::string channel_name_;              // CLIENT SETNAME of the channel, unique to it
  std::uint64_t channel_generation_ = 0;  // counts the channels made
  bool tracking_ = false;                 // CLIENT TRACKING confirmed, redirected to invalidations_
  std::uint64_t cache_epoch_ = 0;
  std::shared_ptr<BarrierBatch> gathering_;  // reads for the next barrier
  std::shared_ptr<BarrierBatch> asked_;      // the barrier on its way, if any
  bool ask_scheduled_ = false;               // for when the loop is idle
  Timer barrier_timer_;
  Backoff tracking_backoff_{std::chrono::milliseconds(5000)};
  std::uint64_t cached_reads_ = 0;
  Timer tracking_retry_timer_;
};

}  // namespace corral::detail
