// The Redis store's read cache: Redis tracks the keys a worker read and tells it, on an
// InvalidationChannel, when one changes (redis_backend.hpp says what a client sees).
#include <hiredis/async.h>
#include <sys/socket.h>

#include <cerrno>
#include <hiredis/hiredis.h>

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

}  // namespace

const std::string* RedisBackend::cached(const std::string& key) {
  if (!tracking_) return nullptr;
  if (!cache_checked_this_turn_) {
    cache_checked_this_turn_ = true;
    defer([this] { cache_checked_this_turn_ = false; });
    // Redis tracks keys for the connection that read them: once it is gone (a restart,
    // CLIENT KILL, Redis's idle timeout), nothing would say they changed.
    cache_usable_this_turn_ = connection_quiet();
    // Every invalidation that reached this worker before now; may end the channel.
    if (cache_usable_this_turn_) invalidations_->read_now();
  }
  if (!tracking_ || !cache_usable_this_turn_) return nullptr;
  return cache_.find(key, steady_ms(loop_.now()));
}

bool RedisBackend::connection_quiet() const {
  if (context_ == nullptr) return false;
  char byte = 0;
  const auto peeked = ::recv(context_->c.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // Nothing to read and still open. A reply waiting could be followed by the end of the
  // connection, which the loop has not seen yet: the cache waits for a quiet turn.
  return peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void RedisBackend::start_tracking() {
  stop_tracking();
  const auto generation = ++channel_generation_;
  std::string host_or_path = address_.path;
  std::uint16_t port = 0;
  if (address_.kind == StoreAddress::Kind::redis_tcp) {
    host_or_path = address_.host;
    port = address_.port;
  } else if (address_.kind == StoreAddress::Kind::redis_sentinel) {
    if (!used_primary_) return;
    host_or_path = used_primary_->first;
    port = used_primary_->second;
  }
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
    spdlog::warn("store: {}: the read cache's invalidation channel ended ({}); reading from Redis until it is back",
                 describe(), why);
    stop_tracking();
    // The connection itself may be fine: a new channel a second later.
    if (!tracking_retry_timer_.armed()) {
      tracking_retry_timer_.expires_after(std::chrono::seconds(1), [this] {
        if (context_ != nullptr && !down_ && !invalidations_) start_tracking();
      });
    }
  };
  invalidations_ = std::make_shared<InvalidationChannel>(loop_, host_or_path, port, address_.user, passwords_.data,
                                                         client_name_ + "-cache", std::move(handlers));
}

void RedisBackend::on_channel_subscribed(std::uint64_t channel, long long client_id) {
  if (channel != channel_generation_ || context_ == nullptr) return;
  const auto id = std::to_string(client_id);
  // NOLOOP: this worker's own writes forget their keys here, without a message.
  send({"CLIENT", "TRACKING", "ON", "REDIRECT", id, "NOLOOP"},
       [this, channel](redisReply* reply, const std::string& error) {
         if (channel != channel_generation_) return;
         if (const auto failed = reply_error(reply, error)) {
           // Redis before 6, or an ACL without CLIENT: every read goes to Redis.
           if (reply != nullptr) spdlog::info("store: {}: no read cache: CLIENT TRACKING was refused: {}", describe(), *failed);
           return stop_tracking();
         }
         cache_moved_on();  // only reads sent from now on are tracked
         tracking_ = true;
       });
}

void RedisBackend::stop_tracking() {
  tracking_ = false;
  cache_.clear();
  cache_moved_on();
  ++channel_generation_;
  // Not destroyed here: this may run inside one of its own callbacks.
  if (invalidations_) loop_.defer([retired = std::move(invalidations_)] {});
}

void RedisBackend::remember_when_expiry_known(const std::string& key, std::shared_ptr<std::optional<std::string>> read) {
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
