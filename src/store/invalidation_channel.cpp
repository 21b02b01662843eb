#include "store/invalidation_channel.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <vector>

#include <fmt/format.h>

#include "store/redis_reply.hpp"

namespace corral::detail {

// hiredis calls C functions: these find the channel again, and never let an exception
// cross hiredis's frames.
struct InvalidationChannel::Hooks {
  static InvalidationChannel& of(const redisAsyncContext* context) {
    return *static_cast<InvalidationChannel*>(context->data);
  }
  static void connected(const redisAsyncContext* context, int status) {
    if (status == REDIS_OK) return;
    auto& channel = of(context);
    channel.context_ = nullptr;  // hiredis frees it after this returns
    outside_hiredis(channel.loop_, [&] { channel.end(fmt::format("connecting: {}", hiredis_error(context))); });
  }
  static void disconnected(const redisAsyncContext* context, int) {
    auto& channel = of(context);
    if (channel.context_ != context) return;  // freed by us
    channel.context_ = nullptr;
    outside_hiredis(channel.loop_, [&] { channel.end(hiredis_error(context)); });
  }
  // AUTH and CLIENT ID: an error ends the channel; CLIENT ID's answer is kept for the
  // subscription's confirmation.
  static void answered(redisAsyncContext* context, void* reply, void* data) {
    auto& channel = of(context);
    if (channel.context_ != context) return;
    outside_hiredis(channel.loop_, [&] {
      auto* answer = static_cast<redisReply*>(reply);
      if (const auto failed = reply_error(answer, hiredis_error(context))) {
        channel.context_ = nullptr;
        redisAsyncFree(context);  // after this callback
        channel.end(fmt::format("{} was refused: {}", static_cast<const char*>(data), *failed));
        return;
      }
      if (answer->type == REDIS_REPLY_INTEGER) channel.client_id_ = answer->integer;
    });
  }
  static void message(redisAsyncContext* context, void* reply, void*) {
    auto& channel = of(context);
    if (reply == nullptr || channel.context_ != context) return;
    outside_hiredis(channel.loop_, [&] { channel.on_reply(static_cast<redisReply*>(reply)); });
  }
  // Also called once with no reply when hiredis frees the context: every barrier
  // still waiting is then answered false.
  static void barrier(redisAsyncContext* context, void* reply, void*) {
    auto& channel = of(context);
    outside_hiredis(channel.loop_, [&] { channel.on_barrier_reply(static_cast<redisReply*>(reply)); });
  }
};

namespace {

// A channel nobody publishes on. hiredis 0.14 drops the answer to a PING on a
// subscribed connection (it looks "pong" up as a pattern), but hands each SUBSCRIBE's
// confirmation to the channel's callback, in order: a SUBSCRIBE is the barrier.
constexpr const char* barrier_channel = "__corral__:barrier";

}  // namespace

InvalidationChannel::InvalidationChannel(EventLoop& loop, const std::string& host_or_path, std::uint16_t port,
                                         const std::string& user, const std::optional<std::string>& password,
                                         const std::string& client_name, Handlers handlers)
    : loop_(loop),
      handlers_(std::move(handlers)),
      events_(loop, [this](const std::string& why) {
        if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));
        end(why);
      }) {
  redisAsyncContext* context =
      port == 0 ? redisAsyncConnectUnix(host_or_path.c_str()) : redisAsyncConnect(host_or_path.c_str(), port);
  if (context == nullptr || context->err != 0) {
    const auto error = context == nullptr ? std::string("out of memory") : std::string(context->errstr);
    if (context != nullptr) redisAsyncFree(context);
    // Not from the constructor: the owner is still making this channel.
    loop_.defer(deferrals_.wrap([this, error] { end(fmt::format("redisAsyncConnect: {}", error)); }));
    return;
  }
  context_ = context;
  context->data = this;
  redisAsyncSetConnectCallback(context, Hooks::connected);
  redisAsyncSetDisconnectCallback(context, Hooks::disconnected);
  events_.attach(context);
  if (port != 0) redisEnableKeepAlive(&context->c);
  if (password) {
    // AUTH [user] password, as binary-safe arguments.
    std::vector<const char*> argv{"AUTH"};
    std::vector<std::size_t> lengths{4};
    if (!user.empty()) {
      argv.push_back(user.c_str());
      lengths.push_back(user.size());
    }
    argv.push_back(password->c_str());
    lengths.push_back(password->size());
    redisAsyncCommandArgv(context, Hooks::answered, const_cast<char*>("AUTH"), static_cast<int>(argv.size()),
                          argv.data(), lengths.data());
  }
  // Refused by an ACL that allows the rest: the channel works all the same.
  redisAsyncCommand(context, nullptr, nullptr, "CLIENT SETNAME %s", client_name.c_str());
  redisAsyncCommand(context, Hooks::answered, const_cast<char*>("CLIENT ID"), "CLIENT ID");
  redisAsyncCommand(context, Hooks::message, nullptr, "SUBSCRIBE __redis__:invalidate");
}

InvalidationChannel::~InvalidationChannel() {
  ended_ = true;
  if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));  // answers the barriers false
  auto waiting = std::exchange(barriers_, {});
  for (auto& done : waiting) done(false);
}

void InvalidationChannel::barrier(std::function<void(bool)> done) {
  if (ended_ || context_ == nullptr) return done(false);
  barriers_.push_back(std::move(done));
  // Asked when the loop is idle: nothing more would join this write by waiting.
  events_.send_now([this]() noexcept {
    redisAsyncCommand(context_, Hooks::barrier, nullptr, "SUBSCRIBE %s", barrier_channel);
  });
}

void InvalidationChannel::on_barrier_reply(redisReply* reply) {
  if (reply != nullptr) {
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || reply->element[0]->type != REDIS_REPLY_STRING ||
        std::string_view(reply->element[0]->str, reply->element[0]->len) != "subscribe" || barriers_.empty()) {
      return;  // a message published there by someone else
    }
    auto done = std::move(barriers_.front());
    barriers_.pop_front();
    return done(!ended_);
  }
  auto waiting = std::exchange(barriers_, {});
  for (auto& done : waiting) done(false);
}

void InvalidationChannel::on_reply(redisReply* reply) {
  if (ended_ || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
      reply->element[0]->type != REDIS_REPLY_STRING) {
    return;
  }
  const std::string_view kind(reply->element[0]->str, reply->element[0]->len);
  if (kind == "subscribe") {
    if (client_id_) handlers_.subscribed(*client_id_);
    return;
  }
  if (kind != "message") return;
  const auto* keys = reply->element[2];
  if (keys->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < keys->elements; ++i) {
      const auto* key = keys->element[i];
      if (key->type == REDIS_REPLY_STRING) handlers_.invalidated(std::string_view(key->str, key->len));
    }
  } else {
    handlers_.flushed();  // a nil: the whole database was flushed
  }
}

void InvalidationChannel::end(const std::string& why) {
  if (ended_) return;
  ended_ = true;
  // What waits on a barrier learns of the end from its hook, when hiredis frees the
  // context (in the owner's hands: it may be this call's caller).
  handlers_.lost(why);
}

}  // namespace corral::detail
