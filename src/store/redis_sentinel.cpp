#include "store/redis_backend.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/redis_reply.hpp"

// Redis Sentinel: finding the primary, and holding a request's commands until its
// role is confirmed. redis_backend.cpp has the connection itself.

namespace corral::detail {

void RedisBackend::ask_sentinel() {
  const auto& [host, port] = address_.sentinels[next_sentinel_ % address_.sentinels.size()];
  asking_sentinel_ = true;
  if (!open_context(host, port)) return;
  if (passwords_.sentinel) send({"AUTH", *passwords_.sentinel}, must_succeed("AUTH on a sentinel"));
  send({"SENTINEL", "get-master-addr-by-name", address_.master_name},
          [this](redisReply* reply, const std::string& error) { on_sentinel_answer(reply, error); });
}

void RedisBackend::on_sentinel_answer(redisReply* reply, const std::string& error) {
  if (context_ == nullptr || !asking_sentinel_) return;  // dropped meanwhile
  const auto& [host, port] = address_.sentinels[next_sentinel_ % address_.sentinels.size()];
  if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
      reply->element[0]->type == REDIS_REPLY_STRING && reply->element[1]->type == REDIS_REPLY_STRING) {
    std::uint16_t primary_port = 0;
    const std::string_view port_text(reply->element[1]->str, reply->element[1]->len);
    const auto [end, failed] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), primary_port);
    if (failed == std::errc{} && end == port_text.data() + port_text.size() && primary_port != 0) {
      primary_ = std::make_pair(std::string(reply->element[0]->str, reply->element[0]->len), primary_port);
      asking_sentinel_ = false;
      sentinels_asked_ = 0;
      // Done with the sentinel: free its connection once this callback returns, and
      // connect to the primary it named.
      auto* context = std::exchange(context_, nullptr);
      redisAsyncFree(context);
      defer([this] {
        if (context_ == nullptr && !closing_ && !reconnect_timer_.armed()) connect_to_primary();
      });
      return;
    }
  }
  const auto said = reply == nullptr                      ? error
                    : reply->type == REDIS_REPLY_NIL      ? fmt::format("it knows no primary named \"{}\"", address_.master_name)
                    : reply->type == REDIS_REPLY_ERROR    ? std::string(reply->str, reply->len)
                                                          : std::string("an answer that is not a host and a port");
  drop_and_reconnect(fmt::format("sentinel {}:{}: {}", host, port, said));
}

void RedisBackend::connect_to_primary() {
  if (!primary_) return ask_sentinel();
  if (!open_context(primary_->first, primary_->second)) return;
  send_handshake(true);
}

void RedisBackend::on_switch_master(const HostPort& announced) {
  // Already connecting to it, or on it.
  if (primary_ == announced && context_ != nullptr && !asking_sentinel_) return;
  spdlog::info("store: {}: the sentinels announce {}:{} as the primary (+switch-master); moving to it",
               address_.describe(), announced.first, announced.second);
  primary_ = announced;
  // At once: nothing more from memory, also for the rest of this turn's requests.
  stop_tracking({});
  // Not from inside the subscription's callback. What waits on the old primary fails
  // (503, and a client may retry); requests from now on wait for the new one's ROLE.
  defer([this] {
    if (closing_) return;
    reconnect_timer_.cancel();
    // Unconfirmed first: a command issued while the old connection's callbacks fail
    // waits for the new primary instead of failing at once.
    primary_confirmed_ = false;
    if (context_ != nullptr) redisAsyncFree(std::exchange(context_, nullptr));
    asking_sentinel_ = false;
    sentinels_asked_ = 0;
    connect_to_primary();
  });
}

void RedisBackend::command(std::vector<std::string_view> arguments, ReplyHandler on_reply) {
  if (address_.kind != StoreAddress::Kind::redis_sentinel || primary_confirmed_) {
    return send(std::move(arguments), std::move(on_reply));
  }
  if (!down_ || asking_sentinel_ || context_ != nullptr) {
    // Being found: held for a moment, not failed at once.
    waiting_.push_back(Waiting{std::vector<std::string>(arguments.begin(), arguments.end()), std::move(on_reply),
                               loop_.now()});
    if (!waiting_timer_.armed()) {
      waiting_timer_.expires_after(timeout_, [this] { fail_waiting(fmt::format("no primary within {} ms", timeout_.count())); });
    }
    return;
  }
  fail_soon(std::move(on_reply));
}

void RedisBackend::send_waiting() {
  waiting_timer_.cancel();
  auto waiting = std::exchange(waiting_, {});
  for (auto& item : waiting) {
    send(std::vector<std::string_view>(item.arguments.begin(), item.arguments.end()), std::move(item.on_reply));
  }
}

void RedisBackend::fail_waiting(const std::string& why) {
  waiting_timer_.cancel();
  auto waiting = std::exchange(waiting_, {});
  for (auto& item : waiting) {
    defer([on_reply = std::move(item.on_reply), why] { on_reply(nullptr, why); });
  }
}

void RedisBackend::check_role_then_send() {
  // The server the sentinel named may have been demoted since it answered.
  send({"ROLE"}, [this](redisReply* reply, const std::string& error) {
    if (context_ == nullptr) return;
    const bool primary = reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                         reply->element[0]->type == REDIS_REPLY_STRING &&
                         std::string_view(reply->element[0]->str, reply->element[0]->len) == "master";
    if (!primary) {
      const auto said = reply_error(reply, error).value_or("it is not the primary (a replica, or not yet promoted)");
      return drop_and_reconnect(fmt::format("ROLE on {}: {}", describe(), said));
    }
    if (primary_ != used_primary_) {
      spdlog::info("store: {}: the primary is {}:{}", address_.describe(), primary_->first, primary_->second);
      if (used_primary_) ++failovers_;
      used_primary_ = primary_;
    }
    mark_up();
    primary_confirmed_ = true;
    send_waiting();
  });
}

std::string RedisBackend::primary() const {
  return used_primary_ ? fmt::format("{}:{}", used_primary_->first, used_primary_->second) : std::string();
}

std::string RedisBackend::describe() const {
  if (address_.kind != StoreAddress::Kind::redis_sentinel || !used_primary_) return address_.describe();
  return fmt::format("{} (primary {}:{})", address_.describe(), used_primary_->first, used_primary_->second);
}

}  // namespace corral::detail
