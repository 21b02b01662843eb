// The Redis store's read cache against a real redis-server: a key read again comes
// from memory once Redis has answered a barrier asked after the read, and any change
// Redis knows of (another client's write, a flush, an expiry, this worker's own write)
// is seen by the next read.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "config/store_address.hpp"
#include "event/event_loop.hpp"
#include "store/redis_backend.hpp"
#include "support/redis_server.hpp"

namespace corral::detail {
namespace {

using namespace std::chrono_literals;

class RedisReadCache : public ::testing::Test {
 protected:
  RedisReadCache() : backend_(loop_, parse_store_address(redis_.address()), RedisBackend::Passwords{}, "test", 2s) {}

  // Runs the loop until `done` (or fails the test after 5 s).
  template <class Done>
  void run_until(Done done, const char* what) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < deadline) loop_.run_once(10ms);
    ASSERT_TRUE(done()) << what;
  }
  Outcome<std::optional<std::string>> try_get(const std::string& key) {
    std::optional<Outcome<std::optional<std::string>>> result;
    backend_.get(KeySpace::data, key, [&](auto outcome) { result.emplace(std::move(outcome)); });
    run_until([&] { return result.has_value(); }, "GET was answered");
    loop_.run_once(0ms);  // the turn ends (its deferred work runs)
    return std::move(*result);
  }
  std::optional<std::string> get(const std::string& key) {
    auto result = try_get(key);
    EXPECT_TRUE(result.ok()) << result.failure().message;
    return result.ok() ? result.value() : std::nullopt;
  }
  void set(const std::string& key, const std::string& value, std::optional<std::chrono::milliseconds> ttl = {}) {
    bool done = false;
    backend_.set(KeySpace::data, key, value, ttl, [&](Outcome<Done> outcome) { done = outcome.ok(); });
    run_until([&] { return done; }, "SET was answered");
  }
  // Another client's command, answered before this returns.
  void redis_cli(const std::string& arguments) {
    ASSERT_EQ(std::system(("redis-cli -s " + redis_.socket_path() + " " + arguments + " >/dev/null").c_str()), 0);
  }
  // How many SUBSCRIBEs Redis has handled: the channel's own, and one per barrier.
  long subscribes() {
    std::unique_ptr<FILE, int (*)(FILE*)> out(
        ::popen(("redis-cli -s " + redis_.socket_path() + " info commandstats").c_str(), "r"), ::pclose);
    EXPECT_TRUE(out);
    if (!out) return -1;
    char line[512];
    while (std::fgets(line, sizeof line, out.get()) != nullptr) {
      long calls = 0;
      if (std::sscanf(line, "cmdstat_subscribe:calls=%ld", &calls) == 1) return calls;
    }
    return 0;
  }
  // Reads `key` until a read comes from the cache (tracking is confirmed a moment after
  // the connection is made).
  void until_cached(const std::string& key) {
    const auto before = backend_.cached_reads();
    run_until([&] { return get(key), backend_.cached_reads() > before; }, "a read came from the cache");
  }

  test::RedisServer redis_;
  EventLoop loop_;
  RedisBackend backend_;
};

TEST_F(RedisReadCache, AnotherClientsWriteIsSeenByTheNextRead) {
  redis_cli("set test:name alice");
  until_cached("name");
  const auto hits = backend_.cached_reads();
  EXPECT_EQ(get("name"), "alice");
  EXPECT_EQ(backend_.cached_reads(), hits + 1);

  redis_cli("set test:name bob");  // acknowledged: its invalidation is ahead of the next barrier
  EXPECT_EQ(get("name"), "bob");
  until_cached("name");
  redis_cli("del test:name");
  EXPECT_EQ(get("name"), std::nullopt);
}

TEST_F(RedisReadCache, AFlushEmptiesIt) {
  redis_cli("set test:name alice");
  until_cached("name");
  redis_cli("flushall");
  EXPECT_EQ(get("name"), std::nullopt);
}

TEST_F(RedisReadCache, ThisWorkersWriteIsReadBackAlsoOverAReadThatWasOnItsWay) {
  redis_cli("set test:name alice");
  until_cached("name");
  set("name", "bob");
  EXPECT_EQ(get("name"), "bob");
  // A read sent before a write and answered after it (the old value) is not remembered.
  until_cached("name");
  std::optional<std::string> read;
  bool written = false;
  set("name", "carol");
  backend_.get(KeySpace::data, "name", [&](auto outcome) { read = outcome.value(); });
  backend_.set(KeySpace::data, "name", "dave", std::nullopt, [&](auto outcome) { written = outcome.ok(); });
  run_until([&] { return read && written; }, "both were answered");
  EXPECT_EQ(read, "carol");
  loop_.run_once(0ms);
  EXPECT_EQ(get("name"), "dave");
  EXPECT_EQ(get("name"), "dave");
}

TEST_F(RedisReadCache, AKeyExpiresAtItsTime) {
  redis_cli("debug set-active-expire 0");  // no invalidation at the expiry: the cache's own clock
  set("name", "alice", 300ms);
  const auto written = std::chrono::steady_clock::now();
  until_cached("name");
  run_until([&] { return std::chrono::steady_clock::now() > written + 300ms; }, "300 ms passed");
  const auto hits = backend_.cached_reads();
  EXPECT_EQ(get("name"), std::nullopt);
  EXPECT_EQ(backend_.cached_reads(), hits);
}

TEST_F(RedisReadCache, AReadFromMemoryWaitsForRedisToAnswerABarrierAskedAfterIt) {
  redis_cli("set test:name alice");
  until_cached("name");
  redis_.signal(SIGSTOP);  // a server that may have taken writes this worker has not heard of
  std::optional<std::optional<std::string>> read;
  backend_.get(KeySpace::data, "name", [&](auto outcome) { read = outcome.value(); });
  const auto until = std::chrono::steady_clock::now() + 200ms;
  while (std::chrono::steady_clock::now() < until) loop_.run_once(10ms);
  EXPECT_FALSE(read) << "answered from memory without Redis";
  const auto hits = backend_.cached_reads();
  redis_.signal(SIGCONT);
  run_until([&] { return read.has_value(); }, "the read was answered");
  EXPECT_EQ(*read, "alice");
  EXPECT_EQ(backend_.cached_reads(), hits + 1) << "from memory, once the barrier was answered";
}

TEST_F(RedisReadCache, AReadThatComesWhileABarrierIsOnItsWayWaitsForTheNextOne) {
  redis_cli("set test:name alice");
  until_cached("name");
  const auto barriers_before = subscribes();
  redis_.signal(SIGSTOP);
  std::optional<std::optional<std::string>> first;
  std::optional<std::optional<std::string>> second;
  backend_.get(KeySpace::data, "name", [&](auto outcome) { first = outcome.value(); });
  // The loop finds nothing waiting: the first read's barrier is asked, then written.
  for (int turn = 0; turn < 5; ++turn) loop_.run_once(0ms);
  EXPECT_FALSE(first);
  redis_.signal(SIGCONT);
  // Redis handles that barrier, then acknowledges this write, before the worker has
  // read the barrier's answer; then the second read comes.
  redis_cli("set test:name bob");
  backend_.get(KeySpace::data, "name", [&](auto outcome) { second = outcome.value(); });
  run_until([&] { return first && second; }, "both reads were answered");
  EXPECT_TRUE(*first == "alice" || *first == "bob") << "it came before the write: either is true";
  EXPECT_EQ(*second, "bob") << "answered by a barrier asked before it came";
  EXPECT_EQ(subscribes() - barriers_before, 2) << "a barrier for each read";
}

TEST_F(RedisReadCache, WithoutItsChannelOrItsConnectionEveryReadGoesToRedisUntilTrackingIsBack) {
  redis_cli("set test:name alice");
  until_cached("name");
  redis_cli("client kill type pubsub");  // the invalidation channel
  redis_cli("set test:name bob");        // no invalidation reaches this worker
  EXPECT_EQ(get("name"), "bob");
  until_cached("name");  // a new channel (after a backoff)
  EXPECT_EQ(get("name"), "bob");

  redis_cli("client kill type normal");  // the connection that reads (Redis forgets what it read)
  redis_cli("set test:name carol");
  // Failed (the connection is found gone, then being made again) or read from Redis,
  // never the old value from memory.
  std::optional<Outcome<std::optional<std::string>>> read;
  run_until([&] { return read.emplace(try_get("name")).ok(); }, "reconnected");
  EXPECT_EQ(read->value(), "carol");
  EXPECT_EQ(get("name"), "carol");
  until_cached("name");
}

TEST_F(RedisReadCache, BehindAPasswordOrAnAclUserTheChannelLogsInAsTheReadingConnectionDoes) {
  redis_cli("acl setuser app on '>app-secret' '~*' '&*' '+@all'");
  redis_cli("config set requirepass s3cret");  // the default user's (redis_cli is refused from here)
  for (const auto& [user, password] : {std::pair<std::string, std::string>{"", "s3cret"}, {"app", "app-secret"}}) {
    auto address = parse_store_address(redis_.address());
    address.user = user;
    RedisBackend backend(loop_, address, RedisBackend::Passwords{password, std::nullopt}, "test", 2s);
    bool written = false;
    backend.set(KeySpace::data, "name", "alice", std::nullopt, [&](Outcome<Done> outcome) { written = outcome.ok(); });
    run_until([&] { return written; }, "SET was answered");
    run_until(
        [&] {
          std::optional<std::optional<std::string>> value;
          backend.get(KeySpace::data, "name", [&](auto outcome) { value = outcome.value(); });
          run_until([&] { return value.has_value(); }, "GET was answered");
          loop_.run_once(0ms);
          EXPECT_EQ(*value, "alice");
          return backend.cached_reads() > 0;
        },
        "a read came from the cache, through the channel");
  }
}

TEST_F(RedisReadCache, WhereRedisRefusesTrackingEveryReadGoesToRedis) {
  redis_cli("acl setuser default '-client|tracking'");  // as an ACL without it, or Redis 5
  RedisBackend refused(loop_, parse_store_address(redis_.address()), RedisBackend::Passwords{}, "test", 2s);
  redis_cli("set test:name alice");
  auto read = [&] {
    std::optional<std::optional<std::string>> value;
    refused.get(KeySpace::data, "name", [&](auto outcome) { value = outcome.value(); });
    run_until([&] { return value.has_value(); }, "GET was answered");
    loop_.run_once(0ms);
    return *value;
  };
  for (int i = 0; i < 5; ++i) EXPECT_EQ(read(), "alice");
  redis_cli("set test:name bob");
  EXPECT_EQ(read(), "bob");
  EXPECT_EQ(refused.cached_reads(), 0u);
}

}  // namespace
}  // namespace corral::detail
