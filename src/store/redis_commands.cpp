#include "store/redis_backend.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <fmt/format.h>

// The store's operations as Redis commands, and WAIT for store_wait_replicas.
// redis_backend.cpp has the connection itself.

namespace corral::detail {

namespace {

// A single-value reply, kept past its callback (hiredis frees the reply after it) until
// WAIT has answered.
struct HeldReply {
  int type = REDIS_REPLY_NIL;
  long long integer = 0;
  std::string text;
  std::string error;  // the connection's, when there was no reply
  bool present = false;

  void keep(redisReply* reply, const std::string& connection_error) {
    present = reply != nullptr;
    error = connection_error;
    if (reply == nullptr) return;
    type = reply->type;
    integer = reply->integer;
    if (reply->str != nullptr) text.assign(reply->str, reply->len);
  }
  // A reply for the handler, pointing into this object.
  redisReply as_reply() {
    redisReply reply{};
    reply.type = type;
    reply.integer = integer;
    reply.str = text.data();
    reply.len = text.size();
    return reply;
  }
};

}  // namespace

void RedisBackend::write(std::vector<std::string_view> arguments, ReplyHandler on_reply) {
  if (wait_replicas_ == 0) return command(std::move(arguments), std::move(on_reply));
  auto held = std::make_shared<HeldReply>();
  command(std::move(arguments), [held](redisReply* reply, const std::string& error) { held->keep(reply, error); });
  // Half the reply deadline: WAIT's own answer comes before the connection is given up.
  const auto replicas = std::to_string(wait_replicas_);
  const auto wait_ms = std::to_string(std::max<std::int64_t>(timeout_.count() / 2, 1));
  command({"WAIT", replicas, wait_ms},
          [this, held, on_reply = std::move(on_reply)](redisReply* reply, const std::string& error) {
            if (!held->present) return on_reply(nullptr, held->error);
            auto kept = held->as_reply();
            if (held->type == REDIS_REPLY_ERROR) return on_reply(&kept, {});
            if (reply == nullptr) return on_reply(nullptr, error);
            if (reply->type != REDIS_REPLY_INTEGER || reply->integer < static_cast<long long>(wait_replicas_)) {
              return on_reply(nullptr, fmt::format("WAIT: the write reached {} of the {} replicas asked for (store_wait_replicas) "
                                                   "within {} ms",
                                                   reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0,
                                                   wait_replicas_, timeout_.count() / 2));
            }
            return on_reply(&kept, {});
          });
}

void RedisBackend::get(KeySpace space, std::string_view key, Callback<std::optional<std::string>> done) {
  auto full = this->key(space, key);
  if (may_be_cached(full)) return read_after_barrier(std::move(full), std::move(done));
  fetch(std::move(full), std::move(done));
}

void RedisBackend::set(KeySpace space, std::string_view key, std::string_view value,
                       std::optional<std::chrono::milliseconds> ttl, Callback<Done> done) {
  const auto full = this->key(space, key);
  forget_written(full);
  auto on_reply = [this, done = std::move(done)](redisReply* reply, const std::string& error) {
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) return done(failure("SET", reply, error));
    return done(Done{});
  };
  if (ttl) {
    const auto milliseconds = std::to_string(std::max<std::int64_t>(ttl->count(), 1));
    write({"SET", full, value, "PX", milliseconds}, std::move(on_reply));
  } else {
    write({"SET", full, value}, std::move(on_reply));
  }
}

void RedisBackend::replace(KeySpace space, std::string_view key, std::string_view value,
                           std::chrono::milliseconds ttl, Callback<bool> done) {
  const auto full = this->key(space, key);
  forget_written(full);
  const auto milliseconds = std::to_string(std::max<std::int64_t>(ttl.count(), 1));
  // XX: only if the key is there, so a session destroyed meanwhile is not brought back.
  write({"SET", full, value, "PX", milliseconds, "XX"},
          [this, done = std::move(done)](redisReply* reply, const std::string& error) {
            if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) return done(failure("SET XX", reply, error));
            return done(reply->type != REDIS_REPLY_NIL);
          });
}

void RedisBackend::erase(KeySpace space, std::string_view key, Callback<Done> done) {
  const auto full = this->key(space, key);
  forget_written(full);
  write({"DEL", full}, [this, done = std::move(done)](redisReply* reply, const std::string& error) {
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) return done(failure("DEL", reply, error));
    return done(Done{});
  });
}

void RedisBackend::increment(std::string_view key, std::int64_t by, Callback<std::int64_t> done) {
  const auto full = this->key(KeySpace::data, key);
  forget_written(full);
  const auto amount = std::to_string(by);
  write({"INCRBY", full, amount}, [this, done = std::move(done)](redisReply* reply, const std::string& error) {
    if (reply == nullptr || reply->type != REDIS_REPLY_INTEGER) return done(failure("INCRBY", reply, error));
    return done(static_cast<std::int64_t>(reply->integer));
  });
}

namespace {

// Lua runs atomically in Redis: no other command comes between the SET NX and the
// GET that recognises this instance's own lock (a retry after its worker died).
constexpr const char* claim_script =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end "
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end "
    "return 0";
// Only the owner releases: a lock that expired and was taken by another instance
// meanwhile is left alone.
constexpr const char* release_script =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
    "if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) else redis.call('DEL', KEYS[1]) end "
    "return 1";

}  // namespace

void RedisBackend::eval_lock_script(const char* script, const char* what, std::string_view run, std::uint64_t token,
                                    std::int64_t milliseconds, Callback<long long> done) {
  const auto full = task_prefix_ + std::string(run);
  const auto owner = std::to_string(token);
  const auto duration = std::to_string(milliseconds);
  write({"EVAL", script, "1", full, owner, duration},
        [this, what, done = std::move(done)](redisReply* reply, const std::string& error) {
          if (reply == nullptr || reply->type != REDIS_REPLY_INTEGER) return done(failure(what, reply, error));
          return done(reply->integer);
        });
}

void RedisBackend::claim_run(std::string_view run, std::uint64_t token, std::chrono::milliseconds ttl,
                             Callback<bool> done) {
  eval_lock_script(claim_script, "EVAL (claim a task run)", run, token, std::max<std::int64_t>(ttl.count(), 1),
                   [done = std::move(done)](Outcome<long long> taken) {
                     if (!taken.ok()) return done(taken.failure());
                     done(taken.value() == 1);
                   });
}

void RedisBackend::release_run(std::string_view run, std::uint64_t token, std::chrono::milliseconds keep,
                               Callback<Done> done) {
  eval_lock_script(release_script, "EVAL (release a task run)", run, token, std::max<std::int64_t>(keep.count(), 0),
                   [done = std::move(done)](Outcome<long long> released) {
                     if (!released.ok()) return done(released.failure());
                     done(Done{});
                   });
}

}  // namespace corral::detail
