// The Redis store's read cache: Redis tracks the keys a worker read and tells it, on an
// InvalidationChannel, when one changes (redis_backend.hpp says what a client sees).
#include <hiredis/async.h>
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/redis_backend.hpp"
#include "store/redis_reply.hpp"

namespace corral::detail {
namespace {

// The loop's steady clock, as the cache keeps expiry.
std::int64_t steady_ms(EventLoop::Clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

// The address a TCP connection reached (IPv4 or IPv6).
std::optional<HostPort> peer_address(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return std::nullopt;
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    return HostPort{text, ntohs(in.sin_port)};
  }
  if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    return HostPort{text, ntohs(in6.sin6_port)};
  }
  return std::nullopt;
}

}  // namespace

struct RedisBackend::CachedRead {
  std::string key;
  Callback<std::optional<std::string>> done;
};

// Reads that may come from the cache, and the barrier they wait on.
struct RedisBackend::BarrierBatch {
  std::vector<CachedRead> reads;
};

bool RedisBackend::may_be_cached(const std::string& key) {
  return tracking_ && cache_.find(key, steady_ms(loop_.now())) != nullptr;
}

bool RedisBackend::connection_open() const {
  if (context_ == nullptr) return false;
  // Closed by the server (a restart, CLIENT KILL, Redis's idle timeout), whatever
  // replies are still to be read before the end: Redis forgot what it read.
  pollfd watched{context_->c.fd, POLLRDHUP, 0};
  return ::poll(&watched, 1, 0) == 0;
}

void RedisBackend::read_after_barrier(std::string key, Callback<std::optional<std::string>> done) {
  if (!gathering_) gathering_ = std::make_shared<BarrierBatch>();
  gathering_->reads.push_back(CachedRead{std::move(key), std::move(done)});
  schedule_barrier();
}

void RedisBackend::schedule_barrier() {
  // Asked once the loop has no event waiting (or after a few busy turns): the reads of
  // every wake-up until then share one round trip to Redis, and each came before it.
  // While one is on its way, its answer schedules the next.
  if (ask_scheduled_ || asked_) return;
  ask_scheduled_ = true;
  loop_.when_idle(deferrals_.wrap([this] {
    ask_scheduled_ = false;
    ask_barrier();
  }));
}

void RedisBackend::ask_barrier() {
  // One at a time, like the writes of a group commit: the reads that come while one is
  // on its way share the next, scheduled when it is answered.
  if (asked_ || !gathering_) return;
  if (!tracking_ || !invalidations_) return answer_batch(std::exchange(gathering_, nullptr), false);
  auto batch = std::exchange(gathering_, nullptr);
  asked_ = batch;
  barrier_timer_.expires_after(timeout_, [this, batch] {
    // A server that answers nothing may have taken writes: nothing comes from memory.
    if (asked_ == batch) stop_tracking(fmt::format("no barrier answered within {} ms", timeout_.count()));
  });
  // Answered once: by its reply, or false when the channel goes (which may be before
  // this returns, if the socket refuses the write).
  invalidations_->barrier([this, batch](bool answered) { answer_batch(batch, answered); });
}

void RedisBackend::answer_batch(const std::shared_ptr<BarrierBatch>& batch, bool answered) {
  if (closing_) return;
  if (asked_ == batch) {
    asked_.reset();
    barrier_timer_.cancel();
  }
  const auto now = steady_ms(loop_.now());
  // The connection that read is checked too: the barrier's answer may be handled
  // before the end of that connection, in the same turn.
  const bool trusted = answered && tracking_ && connection_open();
  for (auto& read : batch->reads) {
    const auto* value = trusted ? cache_.find(read.key, now) : nullptr;
    if (value != nullptr) {
      ++cached_reads_;
      read.done(std::optional<std::string>(*value));
    } else {
      fetch(std::move(read.key), std::move(read.done));  // invalidated meanwhile, or no channel
    }
  }
  if (gathering_) schedule_barrier();  // the reads that came while this one was on its way
}

void RedisBackend::start_tracking() {
  stop_tracking({});
  const auto generation = ++channel_generation_;
  std::string host_or_path = address_.path;
  std::uint16_t port = 0;
  if (address_.kind != StoreAddress::Kind::redis_unix) {
    // The server this connection reached, not its name again: a name that resolves
    // to several servers would give the channel another one.
    const auto peer = context_ != nullptr ? peer_address(context_->c.fd) : std::nullopt;
    if (!peer) return;
    std::tie(host_or_path, port) = *peer;
  }
  channel_name_ = fmt::format("{}-cache-{}.{}", client_name_, ::getpid(), generation);
  InvalidationChannel::Handlers handlers;
  handlers.subscribed = [this, generation](long long client_id) { on_channel_subscribed(generation, client_id); };
  handlers.invalidated = [this, generation](std::string_view key) {
    if (generation != channel_generation_) return;
    cache_.forget(key);
    cache_moved_on();
  };
  handlers.flushed = [this, generation] {
    if (generation != channel_generation_) return;
    cache_.clear();
    cache_moved_on();
  };
  handlers.lost = [this, generation](const std::string& why) {
    if (generation != channel_generation_) return;
    stop_tracking(why);
  };
  invalidations_ = std::make_shared<InvalidationChannel>(loop_, host_or_path, port, address_.user, passwords_.data,
                                                         channel_name_, std::move(handlers));
}

void RedisBackend::on_channel_subscribed(std::uint64_t channel, long long client_id) {
  if (channel != channel_generation_ || context_ == nullptr) return;
  const auto id = std::to_string(client_id);
  // The id must be this worker's channel on this very server (a proxy in front of
  // Redis could have sent it elsewhere): its name, as the server that reads sees it.
  send({"CLIENT", "LIST", "ID", id}, [this, channel](redisReply* reply, const std::string& error) {
    if (channel != channel_generation_) return;
    const auto listed = reply != nullptr && reply->type == REDIS_REPLY_STRING ? std::string_view(reply->str, reply->len)
                                                                               : std::string_view();
    const bool ours = listed.find(" name=" + channel_name_ + " ") != std::string_view::npos;
    if (!ours) {
      const auto said = reply_error(reply, error).value_or("it does not list the channel's connection");
      return give_up_tracking(fmt::format("CLIENT LIST ID: {}", said));
    }
  });
  // NOLOOP: this worker's own writes forget their keys here, without a message.
  send({"CLIENT", "TRACKING", "ON", "REDIRECT", id, "NOLOOP"},
       [this, channel](redisReply* reply, const std::string& error) {
         if (channel != channel_generation_) return;
         if (const auto failed = reply_error(reply, error)) {
           return give_up_tracking(fmt::format("CLIENT TRACKING: {}", *failed));
         }
         cache_moved_on();  // only reads sent from now on are tracked
         tracking_ = true;
         tracking_backoff_.succeeded();
       });
}

void RedisBackend::give_up_tracking(const std::string& why) {
  // Redis before 6, or an ACL without CLIENT: every read goes to Redis, said once per
  // connection.
  spdlog::info("store: {}: no read cache on this connection ({}); every read goes to Redis", describe(), why);
  stop_tracking({});
  // After the CLIENT TRACKING ON that may already be on its way: no invalidation is
  // sent to a connection that is not this worker's channel.
  if (context_ != nullptr) send({"CLIENT", "TRACKING", "OFF"}, [](redisReply*, const std::string&) {});
}

void RedisBackend::stop_tracking(const std::string& why) {
  if (!why.empty() && tracking_) {
    spdlog::warn("store: {}: the read cache is off ({}); reading from Redis until it is back", describe(), why);
  }
  tracking_ = false;
  ++channel_generation_;  // nothing the old channel still says counts
  cache_.clear();
  cache_moved_on();
  // What gathers for a barrier goes to Redis; what waits on one is answered false
  // when its channel goes.
  if (gathering_) answer_batch(std::exchange(gathering_, nullptr), false);
  if (invalidations_) {
    // Not destroyed here: this may run inside one of its own callbacks. Its barriers
    // are answered false when it goes, and their reads go to Redis.
    retired_channels_.push_back(std::move(invalidations_));
    defer([this] { retired_channels_.clear(); });
  }
  // A channel that ended on a connection still in use: a new one, after the backoff.
  if (!why.empty() && context_ != nullptr && !down_ && !tracking_retry_timer_.armed()) {
    tracking_retry_timer_.expires_after(tracking_backoff_.next(), [this] {
      if (context_ != nullptr && !down_ && !invalidations_) start_tracking();
    });
  }
}

void RedisBackend::fetch(std::string key, Callback<std::optional<std::string>> done) {
  auto read = tracking_ ? std::make_shared<std::optional<std::string>>() : nullptr;
  command({"GET", key}, [this, read, done = std::move(done)](redisReply* reply, const std::string& error) {
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) return done(failure("GET", reply, error));
    if (reply->type == REDIS_REPLY_NIL) return done(std::optional<std::string>());
    if (reply->type != REDIS_REPLY_STRING) return done(failure("GET", reply, error));
    std::optional<std::string> value(std::string(reply->str, reply->len));
    if (read) *read = value;
    return done(std::move(value));
  });
  if (read) remember_when_expiry_known(key, std::move(read));
}

void RedisBackend::remember_when_expiry_known(const std::string& key,
                                              std::shared_ptr<std::optional<std::string>> read) {
  // Sent right behind the GET: its reply comes after GET's, which fills `read`.
  command({"PTTL", key}, [this, key, read = std::move(read), epoch = cache_epoch_, sent = loop_.now()](
                             redisReply* reply, const std::string&) {
    if (!tracking_ || epoch != cache_epoch_ || !*read || reply == nullptr || reply->type != REDIS_REPLY_INTEGER) {
      return;
    }
    if (reply->integer == -2) return;  // gone meanwhile
    std::optional<std::int64_t> expires_at;
    if (reply->integer >= 0) expires_at = steady_ms(sent) + reply->integer;  // counted from before Redis's
    cache_.remember(key, **read, expires_at);
  });
}

void RedisBackend::forget_written(const std::string& key) {
  cache_.forget(key);
  cache_moved_on();  // a read sent before this write must not be remembered after it
}

}  // namespace corral::detail
