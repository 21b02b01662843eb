#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "event/event_loop.hpp"
#include "store/backoff.hpp"
#include "store/hiredis_events.hpp"

struct redisAsyncContext;
struct redisReply;

namespace corral::detail {

using HostPort = std::pair<std::string, std::uint16_t>;

// The new primary that a "+switch-master" message announces ("NAME OLD_IP OLD_PORT
// NEW_IP NEW_PORT"), if it is about `master_name` and well formed.
std::optional<HostPort> parse_switch_master(std::string_view payload, std::string_view master_name);

// Redis Sentinel announces every failover on its own pub/sub channel +switch-master.
// A worker subscribes there on one sentinel, on its own loop, so that it moves to the
// new primary as soon as the sentinels have chosen one: also when the old primary is
// still up with the worker's connection open (cut off from the sentinels, or paused),
// which no failed command would reveal until a timeout. A lost subscription goes to the
// next sentinel (also one that has not answered within a second), 100 ms later and up
// to 500 ms apart when none answers; ioredis and redis-py's sentinel clients do the
// same.
class SentinelSubscription {
 public:
  using OnSwitch = std::function<void(const HostPort& primary)>;
  SentinelSubscription(EventLoop& loop, std::vector<HostPort> sentinels, std::string master_name,
                       std::optional<std::string> password, OnSwitch on_switch);
  ~SentinelSubscription();
  SentinelSubscription(const SentinelSubscription&) = delete;
  SentinelSubscription& operator=(const SentinelSubscription&) = delete;

 private:
  struct Hooks;
  void connect();
  void on_message(redisReply* reply);
  // The connection failed or ended: the next sentinel, after the backoff.
  void lost(const std::string& why);

  EventLoop& loop_;
  std::vector<HostPort> sentinels_;
  std::string master_name_;
  std::optional<std::string> password_;
  OnSwitch on_switch_;
  redisAsyncContext* context_ = nullptr;
  HiredisEvents events_;
  Timer retry_timer_;
  // A sentinel that drops packets would hold a connect for the kernel's SYN retries
  // (minutes): one that has not confirmed the subscription within a second is left.
  Timer answer_timer_;
  Backoff backoff_;
  std::size_t next_sentinel_ = 0;
  bool subscribed_ = false;
  bool closing_ = false;
};

}  // namespace corral::detail
