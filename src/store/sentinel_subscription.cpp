#include "store/sentinel_subscription.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/redis_reply.hpp"

namespace corral::detail {

std::optional<HostPort> parse_switch_master(std::string_view payload, std::string_view master_name) {
  std::vector<std::string_view> words;
  while (!payload.empty()) {
    const auto space = payload.find(' ');
    if (space != 0) words.push_back(payload.substr(0, space));
    payload = space == std::string_view::npos ? std::string_view() : payload.substr(space + 1);
  }
  if (words.size() != 5 || words[0] != master_name) return std::nullopt;
  std::uint16_t port = 0;
  const auto text = words[4];
  const auto [end, failed] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (failed != std::errc{} || end != text.data() + text.size() || port == 0) return std::nullopt;
  return HostPort{std::string(words[3]), port};
}

// hiredis calls C functions: these find the subscription again.
struct SentinelSubscription::Hooks {
  static SentinelSubscription& of(const redisAsyncContext* context) {
    return *static_cast<SentinelSubscription*>(context->data);
  }
  static void connected(const redisAsyncContext* context, int status) {
    if (status != REDIS_OK) {
      auto& subscription = of(context);
      subscription.context_ = nullptr;  // hiredis frees it after this returns
      outside_hiredis(subscription.loop_,
                      [&] { subscription.lost(fmt::format("connecting: {}", hiredis_error(context))); });
    }
  }
  static void disconnected(const redisAsyncContext* context, int) {
    auto& subscription = of(context);
    if (subscription.context_ != context) return;  // freed by us
    subscription.context_ = nullptr;
    outside_hiredis(subscription.loop_, [&] { subscription.lost(hiredis_error(context)); });
  }
  static void authenticated(redisAsyncContext* context, void* reply, void*) {
    auto& subscription = of(context);
    outside_hiredis(subscription.loop_, [&] {
      if (const auto failed = reply_error(static_cast<redisReply*>(reply), hiredis_error(context));
          failed && reply != nullptr && subscription.context_ == context) {
        subscription.context_ = nullptr;
        redisAsyncFree(context);  // after this callback
        subscription.lost(fmt::format("AUTH was refused: {}", *failed));
      }
    });
  }
  static void message(redisAsyncContext* context, void* reply, void*) {
    auto& subscription = of(context);
    if (reply == nullptr || subscription.context_ != context || subscription.closing_) return;
    outside_hiredis(subscription.loop_, [&] { subscription.on_message(static_cast<redisReply*>(reply)); });
  }
};

SentinelSubscription::SentinelSubscription(EventLoop& loop, std::vector<HostPort> sentinels, std::string master_name,
                                           std::optional<std::string> password, OnSwitch on_switch)
    : loop_(loop),
      sentinels_(std::move(sentinels)),
      master_name_(std::move(master_name)),
      password_(std::move(password)),
      on_switch_(std::move(on_switch)),
      events_(loop,
              [this](const std::string& why) {
                if (context_ == nullptr) return;
                auto* context = std::exchange(context_, nullptr);
                redisAsyncFree(context);
                lost(why);
              }),
      retry_timer_(loop),
      answer_timer_(loop),
      backoff_(std::chrono::milliseconds(500)) {
  connect();
}

SentinelSubscription::~SentinelSubscription() {
  closing_ = true;
  if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));
}

void SentinelSubscription::connect() {
  const auto& [host, port] = sentinels_[next_sentinel_ % sentinels_.size()];
  redisAsyncContext* context = redisAsyncConnect(host.c_str(), port);
  if (context == nullptr || context->err != 0) {
    const auto error = context == nullptr ? std::string("out of memory") : std::string(context->errstr);
    if (context != nullptr) redisAsyncFree(context);
    return lost(fmt::format("redisAsyncConnect: {}", error));
  }
  context_ = context;
  context->data = this;
  redisAsyncSetConnectCallback(context, Hooks::connected);
  redisAsyncSetDisconnectCallback(context, Hooks::disconnected);
  events_.attach(context);
  redisEnableKeepAlive(&context->c);
  if (password_) {
    const char* argv[] = {"AUTH", password_->c_str()};
    const std::size_t lengths[] = {4, password_->size()};
    redisAsyncCommandArgv(context, Hooks::authenticated, nullptr, 2, argv, lengths);
  }
  redisAsyncCommand(context, Hooks::message, nullptr, "SUBSCRIBE +switch-master");
  answer_timer_.expires_after(std::chrono::seconds(1), [this] {
    if (context_ == nullptr || subscribed_) return;
    redisAsyncFree(std::exchange(context_, nullptr));
    lost("no answer to SUBSCRIBE within 1 s");
  });
}

void SentinelSubscription::on_message(redisReply* reply) {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 || reply->element[0]->type != REDIS_REPLY_STRING) {
    return;
  }
  const std::string_view kind(reply->element[0]->str, reply->element[0]->len);
  if (kind == "subscribe") {
    answer_timer_.cancel();
    backoff_.succeeded();
    subscribed_ = true;
    const auto& [host, port] = sentinels_[next_sentinel_ % sentinels_.size()];
    spdlog::debug("store: listening for +switch-master on sentinel {}:{}", host, port);
    return;
  }
  if (kind != "message" || reply->element[2]->type != REDIS_REPLY_STRING) return;
  const std::string_view payload(reply->element[2]->str, reply->element[2]->len);
  if (const auto primary = parse_switch_master(payload, master_name_)) on_switch_(*primary);
}

void SentinelSubscription::lost(const std::string& why) {
  if (closing_) return;
  answer_timer_.cancel();
  const auto& [host, port] = sentinels_[next_sentinel_ % sentinels_.size()];
  // Said once when a subscription ends, not at every attempt while no sentinel answers.
  if (subscribed_) {
    spdlog::warn("store: the subscription to +switch-master on sentinel {}:{} ended ({}); trying the next sentinel",
                 host, port, why);
  }
  subscribed_ = false;
  ++next_sentinel_;
  if (!retry_timer_.armed()) retry_timer_.expires_after(backoff_.next(), [this] { connect(); });
}

}  // namespace corral::detail
