// The store's backends and the public Store and Session, against a real SQLite file
// and a real redis-server: every behaviour is checked on both.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "config/store_address.hpp"
#include "corral/request.hpp"
#include "corral/response.hpp"
#include "corral/store.hpp"
#include "event/event_loop.hpp"
#include "http/request_access.hpp"
#include "http/response_access.hpp"
#include "store/backoff.hpp"
#include "store/redis_backend.hpp"
#include "store/sentinel_subscription.hpp"
#include "store/session_record.hpp"
#include "store/sqlite_backend.hpp"
#include "store/worker_store.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace corral {
namespace {

using namespace std::chrono_literals;
using detail::Done;
using detail::Outcome;
using detail::StoreFailure;

// ---- pure parts ----

TEST(SessionId, Has256RandomBitsInBase64url) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const auto id = detail::new_session_id();
    EXPECT_EQ(id.size(), 43u);  // 256 bits, at least the 128 asked for
    EXPECT_TRUE(detail::valid_session_id(id));
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(SessionId, RefusesWhatItCouldNotHaveMade) {
  const auto id = detail::new_session_id();
  EXPECT_FALSE(detail::valid_session_id(""));
  EXPECT_FALSE(detail::valid_session_id(id + "A"));
  EXPECT_FALSE(detail::valid_session_id(id.substr(1)));
  EXPECT_FALSE(detail::valid_session_id(std::string(42, 'A') + "="));
  EXPECT_FALSE(detail::valid_session_id(std::string(42, 'A') + "/"));
  EXPECT_FALSE(detail::valid_session_id(std::string(10000, 'A')));
}

TEST(SessionRecord, RoundTripsAnyBytes) {
  detail::SessionRecord record{{{"user", "alice"}, {"", ""}, {std::string("a\0b", 3), "x\ny 12 3\n"}}, 1234};
  const auto decoded = detail::decode_session(detail::encode_session(record));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->fields, record.fields);
  EXPECT_EQ(decoded->refreshed_at_ms, 1234);
}

TEST(SessionRecord, RefusesWhatIsNotARecord) {
  for (const std::string text : {"", "s1", "s1 x\n", "s2 1\n", "s1 1\n5 1\nab", "s1 1\n1 99999999999999999999\nab",
                                 "s1 -1\n", "s1 1\n1 1\n"}) {
    EXPECT_FALSE(detail::decode_session(text)) << text;
  }
}

TEST(SessionRecord, IsRewrittenOnceATenthOfItsLifetimeHasPassed) {
  EXPECT_FALSE(detail::needs_refresh(1000, 1000 + 8'639'999, 24h));
  EXPECT_TRUE(detail::needs_refresh(1000, 1000 + 8'640'000, 24h));
}

TEST(Backoff, DoublesToFiveSecondsAndStartsOverAfterASuccess) {
  detail::Backoff backoff;
  std::vector<long> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(backoff.next().count());
  EXPECT_EQ(delays, (std::vector<long>{100, 200, 400, 800, 1600, 3200, 5000, 5000}));
  backoff.succeeded();
  EXPECT_EQ(backoff.next().count(), 100);
}

TEST(StoreAddress, ReadsSqliteRedisAndUnixAddresses) {
  EXPECT_EQ(detail::parse_store_address("sqlite").kind, detail::StoreAddress::Kind::sqlite);
  const auto tcp = detail::parse_store_address("redis://cache.internal:6380/2");
  EXPECT_EQ(tcp.host, "cache.internal");
  EXPECT_EQ(tcp.port, 6380);
  EXPECT_EQ(tcp.database, 2u);
  const auto user = detail::parse_store_address("redis://app@[::1]");
  EXPECT_EQ(user.user, "app");
  EXPECT_EQ(user.host, "::1");
  EXPECT_EQ(user.port, 6379);
  EXPECT_EQ(user.describe(), "redis [::1]:6379/0");
  const auto local = detail::parse_store_address("unix:///run/redis/redis.sock?db=3");
  EXPECT_EQ(local.path, "/run/redis/redis.sock");
  EXPECT_EQ(local.database, 3u);
}

TEST(StoreAddress, ReadsTheSentinelsAndThePrimarysName) {
  const auto address =
      detail::parse_store_address("redis-sentinel://app@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster?db=2");
  EXPECT_EQ(address.kind, detail::StoreAddress::Kind::redis_sentinel);
  EXPECT_EQ(address.sentinels, (std::vector<std::pair<std::string, std::uint16_t>>{
                                   {"10.0.0.1", 26379}, {"10.0.0.2", 26379}, {"::1", 26380}}));
  EXPECT_EQ(address.master_name, "mymaster");
  EXPECT_EQ(address.user, "app");
  EXPECT_EQ(address.database, 2u);
  EXPECT_EQ(address.describe(), "redis-sentinel mymaster/2 (3 sentinels)");
  const std::pair<const char*, const char*> refused[] = {
      {"redis-sentinel://10.0.0.1:26379", "the primary's name, as the sentinels know it, follows the sentinels"},
      {"redis-sentinel://10.0.0.1:26379/", "the primary's name"},
      {"redis-sentinel:///mymaster", "name at least one sentinel"},
      {"redis-sentinel://10.0.0.1:0/mymaster", "a host and a port from 1"},
      {"redis-sentinel://10.0.0.1/my master", "has a character other than"},
      {"redis-sentinel://10.0.0.1/m?database=1", "the only parameter is db=N"},
      {"redis-sentinel://u:secret@10.0.0.1/m", "password"},
  };
  for (const auto& [text, message] : refused) {
    try {
      detail::parse_store_address(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(message), std::string::npos) << text << ": " << error.what();
    }
  }
}

TEST(SentinelSubscription, ReadsTheNewPrimaryOfItsOwnMasterFromSwitchMaster) {
  EXPECT_EQ(detail::parse_switch_master("mymaster 10.0.0.1 6379 10.0.0.2 6380", "mymaster"),
            (detail::HostPort{"10.0.0.2", 6380}));
  EXPECT_EQ(detail::parse_switch_master("mymaster ::1 6379 ::2 6379", "mymaster"), (detail::HostPort{"::2", 6379}));
  for (const char* other : {"othermaster 10.0.0.1 6379 10.0.0.2 6380", "mymaster 10.0.0.1 6379 10.0.0.2",
                            "mymaster 10.0.0.1 6379 10.0.0.2 0", "mymaster 10.0.0.1 6379 10.0.0.2 65536",
                            "mymaster 10.0.0.1 6379 10.0.0.2 6380x", "mymaster 10.0.0.1 6379 10.0.0.2 6380 extra", ""}) {
    EXPECT_FALSE(detail::parse_switch_master(other, "mymaster")) << other;
  }
}

// A loopback socket that takes connections into its queue and never answers: a sentinel
// that is paused, or whose host was cut off after the handshake.
struct SilentSentinel {
  UniqueFd fd{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  std::uint16_t port = 0;
  SilentSentinel() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    auto check = [](bool ok, const char* call) {
      if (!ok) throw std::runtime_error(std::string(call) + " failed making a silent sentinel on 127.0.0.1: " +
                                        std::strerror(errno));
    };
    check(fd.valid(), "socket");
    check(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0, "bind");
    check(::listen(fd.get(), 8) == 0, "listen");
    check(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0, "getsockname");
    port = ntohs(address.sin_port);
  }
  // True once a client's connection is in the queue (taken, and kept open).
  bool connected() {
    const int client = ::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return false;
    clients.emplace_back(client);
    return true;
  }
  std::vector<UniqueFd> clients;
};

TEST(SentinelSubscription, LeavesASentinelThatDoesNotConfirmWithinASecondForTheNext) {
  SilentSentinel first;
  SilentSentinel second;
  EventLoop loop;
  detail::SentinelSubscription subscription(loop, {{"127.0.0.1", first.port}, {"127.0.0.1", second.port}},
                                            "mymaster", std::nullopt, [](const detail::HostPort&) {});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::optional<std::chrono::steady_clock::time_point> first_at;
  std::optional<std::chrono::steady_clock::time_point> second_at;
  while (!second_at && std::chrono::steady_clock::now() < deadline) {
    loop.run_once(20ms);
    if (!first_at && first.connected()) first_at = std::chrono::steady_clock::now();
    if (second.connected()) second_at = std::chrono::steady_clock::now();
  }
  ASSERT_TRUE(first_at) << "the subscription never connected to the first sentinel";
  ASSERT_TRUE(second_at) << "the subscription stayed on a sentinel that never answered";
  // The second only after the first had its second to answer (and the 100 ms backoff),
  // and not much later.
  EXPECT_GE(*second_at - *first_at, 900ms);
  EXPECT_LT(*second_at - *first_at, 3s);
}

TEST(StoreAddress, RefusesOthersSayingWhatIsAccepted) {
  for (const char* text : {"", "mysql://x", "redis://", "redis://host:0", "redis://host:99999", "redis://host/x",
                           "unix://relative.sock", "unix:///s?database=1", "redis://user:secret@host"}) {
    try {
      detail::parse_store_address(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(std::string_view(text).starts_with("redis://user:") ? "password" : "use"),
                std::string::npos)
          << error.what();
    }
  }
}

// ---- backends ----

// SQLite as a task's own connection (each write commits before it returns), SQLite as
// in a worker (group commit: the writes of a loop turn share a transaction), Redis.
enum class Kind { sqlite, sqlite_in_a_worker, redis };

// A Loop for WorkerStore: a continuation that throws is recorded here.
class RecordingLoop final : public Loop {
 public:
  void after(std::chrono::milliseconds, std::function<void()> callback) override {
    try {
      callback();
    } catch (const std::exception& error) {
      exceptions.push_back(error.what());
    }
  }
  std::vector<std::string> exceptions;
};

// Answers that a test's handler deferred.
class TestAnswer final : public detail::PendingAnswer {
 public:
  explicit TestAnswer(std::optional<Response>& out) : out_(out) {}
  void answer(Response&& response) override {
    if (!answered_) out_ = std::move(response);
    answered_ = true;
  }
  bool client_connected() const override { return !answered_; }

 private:
  std::optional<Response>& out_;
  bool answered_ = false;
};

class TestDeferrer final : public detail::Deferrer {
 public:
  explicit TestDeferrer(std::optional<Response>& out) : out_(out) {}
  std::shared_ptr<detail::PendingAnswer> defer() override {
    deferred = true;
    return std::make_shared<TestAnswer>(out_);
  }
  bool deferred = false;

 private:
  std::optional<Response>& out_;
};

class StoreTest : public ::testing::TestWithParam<Kind> {
 protected:
  bool sqlite() const { return GetParam() != Kind::redis; }
  void SetUp() override {
    if (GetParam() == Kind::redis) redis_ = std::make_unique<test::RedisServer>();
    open();
  }

  void open(std::chrono::milliseconds lifetime = 24h) {
    worker_store_.reset();
    backend_.reset();
    if (GetParam() == Kind::sqlite) {
      backend_ = std::make_shared<detail::SqliteBackend>(directory_ / "store.sqlite3", 100ms, [this] { return now_ms_; });
    } else if (GetParam() == Kind::sqlite_in_a_worker) {
      backend_ = std::make_shared<detail::SqliteBackend>(
          directory_ / "store.sqlite3", 100ms, [this] { return now_ms_; },
          [this](std::function<void()> work) { loop_.defer(std::move(work)); });
    } else {
      backend_ = std::make_shared<detail::RedisBackend>(loop_, detail::parse_store_address(redis_->address()),
                                                        detail::RedisBackend::Passwords{}, "test", 2s);
    }
    worker_store_ = std::make_unique<detail::WorkerStore>(
        backend_, detail::SessionOptions{"test_session", lifetime, false}, handler_loop_, [this] { return now_ms_; });
  }

  template <class T>
  Outcome<T> wait(const std::function<void(detail::StoreBackend::Callback<T>)>& issue) {
    std::optional<Outcome<T>> result;
    issue([&](Outcome<T> outcome) { result.emplace(std::move(outcome)); });
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!result && std::chrono::steady_clock::now() < deadline) loop_.run_once(10ms);
    if (!result) throw std::runtime_error("the store never answered");
    return std::move(*result);
  }
  Outcome<std::optional<std::string>> get(const std::string& key) {
    return wait<std::optional<std::string>>([&](auto done) { backend_->get(detail::KeySpace::data, key, std::move(done)); });
  }
  Outcome<Done> set(const std::string& key, const std::string& value,
                    std::optional<std::chrono::milliseconds> ttl = std::nullopt) {
    return wait<Done>([&](auto done) { backend_->set(detail::KeySpace::data, key, value, ttl, std::move(done)); });
  }
  Outcome<std::int64_t> increment(const std::string& key, std::int64_t by) {
    return wait<std::int64_t>([&](auto done) { backend_->increment(key, by, std::move(done)); });
  }

  // Serves one request through `handler` with the given Cookie field; the answer,
  // whether given at once or deferred.
  Response serve(const std::string& cookie, const std::function<void(const Request&, Response&)>& handler) {
    Request request;
    detail::RequestAccess::set_request_line(request, "GET", "/", 1);
    if (!cookie.empty()) detail::RequestAccess::add_field(request, "Cookie", cookie);
    detail::RequestAccess::finish_head(request);
    detail::RequestAccess::bind_store(request, worker_store_.get());
    std::optional<Response> deferred_answer;
    TestDeferrer deferrer(deferred_answer);
    Response response;
    detail::ResponseAccess::set_deferrer(response, &deferrer);
    try {
      handler(request, response);
    } catch (const ClientError& error) {
      response.text(error.status(), error.what());  // as the worker's connection answers it
    }
    detail::ResponseAccess::set_deferrer(response, nullptr);
    if (!deferrer.deferred) return response;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!deferred_answer && std::chrono::steady_clock::now() < deadline) loop_.run_once(10ms);
    if (!deferred_answer) throw std::runtime_error("the deferred answer never came");
    return std::move(*deferred_answer);
  }

  // The session cookie a response sets: its value ("" when it expires the cookie);
  // nullopt if it sets none.
  static std::optional<std::string> session_cookie(const Response& response) {
    for (const auto& [name, value] : response.headers()) {
      if (name == "Set-Cookie" && value.starts_with("test_session=")) {
        const auto end = value.find(';');
        return value.substr(13, end - 13);
      }
    }
    return std::nullopt;
  }

  Response log_in(const std::string& cookie, const std::string& user) {
    return serve(cookie, [user](const Request& request, Response& response) {
      request.session(response, [user](Session& session, Response& response) {
        session.regenerate();
        session.set("user", user);
        response.text(200, "hello " + user);
      });
    });
  }
  // The user of the session named by `id`, or "-" for none.
  std::string user_of(const std::string& id) {
    const auto response = serve("test_session=" + id, [](const Request& request, Response& response) {
      request.session(response, [](Session& session, Response& response) {
        response.text(200, std::string(session.get("user").value_or("-")));
      });
    });
    EXPECT_EQ(response.status(), 200);
    return response.body();
  }

  test::TempDir directory_;
  std::unique_ptr<test::RedisServer> redis_;
  EventLoop loop_;
  RecordingLoop handler_loop_;
  std::int64_t now_ms_ = 1'700'000'000'000;
  std::shared_ptr<detail::StoreBackend> backend_;
  std::unique_ptr<detail::WorkerStore> worker_store_;
};

TEST_P(StoreTest, SetsGetsAndErasesBinaryKeysAndValues) {
  const std::string key("k\0\xff", 3);
  const std::string value("v\0\r\n", 4);
  ASSERT_FALSE(get(key).value());
  ASSERT_TRUE(set(key, value).ok());
  EXPECT_EQ(get(key).value(), value);
  ASSERT_TRUE(set(key, "second").ok());
  EXPECT_EQ(get(key).value(), "second");
  ASSERT_TRUE(wait<Done>([&](auto done) { backend_->erase(detail::KeySpace::data, key, std::move(done)); }).ok());
  EXPECT_FALSE(get(key).value());
  EXPECT_EQ(backend_->health(), detail::StoreHealth::up);
}

TEST_P(StoreTest, ATurnsWritesLargerThanTheConnectionTakesAtOnceAreStoredWhole) {
  // Eight 1 MiB values in one turn, on a connection made: far more than a socket's send
  // buffer, so Redis's connection writes part at a time, each when it is writable.
  ASSERT_FALSE(get("a").value());
  std::vector<std::string> values;
  int answered = 0;
  for (char fill = 'a'; fill < 'i'; ++fill) {
    values.emplace_back(1024 * 1024, fill);
    backend_->set(detail::KeySpace::data, std::string(1, fill), values.back(), std::nullopt,
                  [&](Outcome<Done> outcome) { answered += outcome.ok() ? 1 : 100; });
  }
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (answered < 8 && std::chrono::steady_clock::now() < deadline) loop_.run_once(10ms);
  ASSERT_EQ(answered, 8);
  for (const auto& value : values) EXPECT_EQ(get(std::string(1, value[0])).value(), value);
}

TEST_P(StoreTest, IncrementsFromNothingAndRefusesANonInteger) {
  EXPECT_EQ(increment("n", 1).value(), 1);
  EXPECT_EQ(increment("n", 41).value(), 42);
  EXPECT_EQ(increment("n", -50).value(), -8);
  ASSERT_TRUE(set("word", "hello").ok());
  const auto refused = increment("word", 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.failure().kind, StoreFailure::Kind::misuse);
}

TEST_P(StoreTest, AKeyWithATtlExpires) {
  ASSERT_TRUE(set("short", "x", 30ms).ok());
  ASSERT_TRUE(set("long", "y", 3'600'000ms).ok());
  if (sqlite()) {
    EXPECT_EQ(get("short").value(), "x");
    now_ms_ += 31;
    EXPECT_FALSE(get("short").value());
    // The purge deletes the expired row, and only it, on a connection of its own as the
    // purge task makes; a worker's store refuses to purge in its loop turn.
    detail::SqliteBackend purger(directory_ / "store.sqlite3", 100ms, [this] { return now_ms_; });
    purger.purge_expired();
    EXPECT_EQ(purger.purged(), 1);
    if (GetParam() == Kind::sqlite_in_a_worker) {
      EXPECT_THROW(backend_->purge_expired(), std::logic_error);
    }
  } else {
    // Redis expires on its own clock: wait for it, with a deadline.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (get("short").value() && std::chrono::steady_clock::now() < deadline) loop_.run_once(5ms);
    EXPECT_FALSE(get("short").value());
  }
  EXPECT_EQ(get("long").value(), "y");
}

TEST_P(StoreTest, StoreOperationsContinueTheResponse) {
  auto response = serve("", [](const Request& request, Response& response) {
    request.store().increment("visits", 5, response, [&request](std::int64_t visits, Response& response) {
      // A second call from the continuation continues the same answer.
      request.store().get("visits", response, [visits](std::optional<std::string> value, Response& response) {
        response.text(200, std::to_string(visits) + "=" + value.value_or("?"));
      });
    });
  });
  EXPECT_EQ(response.status(), 200);
  EXPECT_EQ(response.body(), "5=5");
  response = serve("", [](const Request& request, Response& response) {
    request.store().set("greeting", "hi", 60s, response, [](Response& response) { response.text(201, "set"); });
  });
  EXPECT_EQ(response.status(), 201);
  response = serve("", [](const Request& request, Response& response) {
    request.store().erase("greeting", response, [&request](Response& response) {
      request.store().get("greeting", response, [](std::optional<std::string> value, Response& response) {
        response.text(200, value ? "still there" : "gone");
      });
    });
  });
  EXPECT_EQ(response.body(), "gone");
}

TEST_P(StoreTest, AClientErrorFromAContinuationIsItsStatusAndAMisuseIs500) {
  auto response = serve("", [](const Request& request, Response& response) {
    request.store().get("absent", response, [](std::optional<std::string>, Response&) {
      throw ClientError(404, "no such thing");
    });
  });
  EXPECT_EQ(response.status(), 404);
  EXPECT_EQ(response.body(), "no such thing");
  response = serve("", [](const Request& request, Response& response) {
    request.store().set("text", "abc", response, [&request](Response& response) {
      request.store().increment("text", 1, response, [](std::int64_t, Response& response) { response.text(200, "?"); });
    });
  });
  EXPECT_EQ(response.status(), 500);
  EXPECT_TRUE(handler_loop_.exceptions.empty());
}

TEST_P(StoreTest, RefusesOversizedKeysAndValuesAndAnEmptyTtl) {
  EXPECT_THROW(serve("", [](const Request& request, Response& response) {
                 request.store().get(std::string(513, 'k'), response, [](auto, Response&) {});
               }),
               std::invalid_argument);
  EXPECT_THROW(serve("", [](const Request& request, Response& response) {
                 request.store().set("k", std::string(1024 * 1024 + 1, 'v'), response, [](Response&) {});
               }),
               std::invalid_argument);
  EXPECT_THROW(serve("", [](const Request& request, Response& response) {
                 request.store().set("k", "v", 0ms, response, [](Response&) {});
               }),
               std::invalid_argument);
}

TEST_P(StoreTest, ALoginMakesASessionThatLaterRequestsFind) {
  const auto response = log_in("", "alice");
  EXPECT_EQ(response.status(), 200);
  const auto id = session_cookie(response);
  ASSERT_TRUE(id);
  EXPECT_TRUE(detail::valid_session_id(*id));
  bool secure_flags = false;
  for (const auto& [name, value] : response.headers()) {
    if (name == "Set-Cookie") secure_flags = value.find("HttpOnly") != std::string::npos &&
                                             value.find("SameSite=Lax") != std::string::npos &&
                                             value.find("Path=/") != std::string::npos;
  }
  EXPECT_TRUE(secure_flags);
  EXPECT_EQ(user_of(*id), "alice");
}

TEST_P(StoreTest, ARequestThatStoresNothingGetsNoCookie) {
  const auto response = serve("", [](const Request& request, Response& response) {
    request.session(response, [](Session& session, Response& response) {
      EXPECT_TRUE(session.is_new());
      response.text(200, "nothing");
    });
  });
  EXPECT_FALSE(session_cookie(response));
}

TEST_P(StoreTest, RegenerateGivesANewIdAndTheOldOneIsWorthNothing) {
  const auto first = session_cookie(log_in("", "alice"));
  ASSERT_TRUE(first);
  const auto second = session_cookie(log_in("test_session=" + *first, "bob"));
  ASSERT_TRUE(second);
  EXPECT_NE(*first, *second);
  EXPECT_EQ(user_of(*first), "-");
  EXPECT_EQ(user_of(*second), "bob");
}

TEST_P(StoreTest, MalformedOversizedAndForgedCookiesAreNoSession) {
  const auto forged = detail::new_session_id();  // well-formed, never issued
  for (const std::string& cookie : std::vector<std::string>{
           "test_session=", "test_session=short", "test_session=" + std::string(8000, 'A'),
        "test_session=\"" + forged + "\"x", "test_session=" + forged.substr(0, 42) + "%", "test_session=" + forged}) {
    const auto response = serve(cookie, [](const Request& request, Response& response) {
      request.session(response, [](Session& session, Response& response) {
        response.text(200, session.is_new() ? "new" : "old");
        session.set("visited", "yes");
      });
    });
    EXPECT_EQ(response.body(), "new") << cookie;
    // A session is never created under an id the client chose.
    const auto issued = session_cookie(response);
    ASSERT_TRUE(issued);
    EXPECT_NE(*issued, forged);
  }
}

TEST_P(StoreTest, DestroyRemovesTheSessionAndExpiresTheCookie) {
  const auto id = session_cookie(log_in("", "alice"));
  ASSERT_TRUE(id);
  const auto response = serve("test_session=" + *id, [](const Request& request, Response& response) {
    request.session(response, [](Session& session, Response& response) {
      session.destroy();
      response.text(200, "bye");
    });
  });
  EXPECT_EQ(session_cookie(response), "");
  EXPECT_EQ(user_of(*id), "-");
}

TEST_P(StoreTest, ErasedFieldsAreSavedAndErasingTheLastEndsTheSession) {
  const auto id = session_cookie(log_in("", "alice"));
  ASSERT_TRUE(id);
  const auto cookie = "test_session=" + *id;
  auto change = [&](std::function<void(Session&)> edit) {
    return serve(cookie, [edit](const Request& request, Response& response) {
      request.session(response, [edit](Session& session, Response& response) {
        edit(session);
        std::string names;
        for (const auto& [key, value] : session.fields()) names += key + "=" + value + ",";
        response.text(200, names);
      });
    });
  };
  EXPECT_EQ(change([](Session& session) { session.set("cart", "3 apples"); }).body(), "cart=3 apples,user=alice,");
  EXPECT_EQ(change([](Session& session) { session.erase("cart"); }).body(), "user=alice,");
  EXPECT_EQ(change([](Session& session) { session.erase("absent"); }).body(), "user=alice,");
  const auto last = change([](Session& session) { session.erase("user"); });
  EXPECT_EQ(session_cookie(last), "");  // nothing left: the session and its cookie end
  EXPECT_EQ(user_of(*id), "-");
}

TEST_P(StoreTest, AnExpiredSessionIsGone) {
  if (sqlite()) {
    open(3'600'000ms);
    const auto id = session_cookie(log_in("", "alice"));
    ASSERT_TRUE(id);
    now_ms_ += 3'600'001;
    EXPECT_EQ(user_of(*id), "-");
  } else {
    open(50ms);  // Redis's own clock expires it
    const auto id = session_cookie(log_in("", "alice"));
    ASSERT_TRUE(id);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (user_of(*id) != "-" && std::chrono::steady_clock::now() < deadline) loop_.run_once(5ms);
    EXPECT_EQ(user_of(*id), "-");
  }
}

TEST_P(StoreTest, UseRollsTheExpiryForwardAtMostOncePerTenthOfTheLifetime) {
  open(1'000'000ms);
  const auto id = session_cookie(log_in("", "alice"));
  ASSERT_TRUE(id);
  auto read = [&] {
    return serve("test_session=" + *id, [](const Request& request, Response& response) {
      request.session(response, [](Session&, Response& response) { response.text(200, "ok"); });
    });
  };
  now_ms_ += 99'999;
  EXPECT_FALSE(session_cookie(read()));  // no write, no cookie
  now_ms_ += 1;
  EXPECT_EQ(session_cookie(read()), *id);  // written again, the cookie's Max-Age renewed
  if (sqlite()) {
    // Alive 1,000 s after the refresh, though 1,100 s after the login.
    now_ms_ += 999'000;
    EXPECT_EQ(user_of(*id), "alice");
  }
}

TEST_P(StoreTest, OfTwoRequestsChangingOneSessionTheLastSavedWinsWhole) {
  const auto id = session_cookie(log_in("", "alice"));
  ASSERT_TRUE(id);
  const auto cookie = "test_session=" + *id;
  auto set_field = [](std::string key) {
    return [key](const Request& request, Response& response) {
      request.session(response, [key](Session& session, Response& response) {
        session.set(key, "1");
        response.text(200, "ok");
      });
    };
  };
  if (sqlite()) {
    // The second request loads and saves while the first one's function runs.
    serve(cookie, [&](const Request& request, Response& response) {
      request.session(response, [&](Session& session, Response& response) {
        session.set("first", "1");
        serve(cookie, set_field("second"));
        response.text(200, "ok");
      });
    });
  } else {
    // Both load before either saves: their GETs are pipelined ahead of both SETs.
    std::optional<Response> answers[2];
    TestDeferrer deferrers[2] = {TestDeferrer(answers[0]), TestDeferrer(answers[1])};
    Request requests[2];
    const char* keys[2] = {"first", "second"};
    for (int i = 0; i < 2; ++i) {
      detail::RequestAccess::set_request_line(requests[i], "GET", "/", 1);
      detail::RequestAccess::add_field(requests[i], "Cookie", cookie);
      detail::RequestAccess::finish_head(requests[i]);
      detail::RequestAccess::bind_store(requests[i], worker_store_.get());
      Response response;
      detail::ResponseAccess::set_deferrer(response, &deferrers[i]);
      set_field(keys[i])(requests[i], response);
    }
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!(answers[0] && answers[1]) && std::chrono::steady_clock::now() < deadline) loop_.run_once(10ms);
    ASSERT_TRUE(answers[0] && answers[1]);
  }
  const auto fields = serve(cookie, [](const Request& request, Response& response) {
    request.session(response, [](Session& session, Response& response) {
      std::string names;
      for (const auto& [key, value] : session.fields()) names += key + ",";
      response.text(200, names);
    });
  });
  // The first saved last (SQLite) or second (Redis): its whole session is what stays.
  EXPECT_EQ(fields.body(), sqlite() ? "first,user," : "second,user,");
}

// Whatever makes the store unavailable: another connection holding SQLite's write lock
// past the store timeout, or Redis stopped. Undone by `recover`.
void make_unavailable(Kind kind, test::RedisServer* redis, const std::string& path, sqlite3*& holder) {
  if (kind == Kind::redis) {
    redis->stop();
    return;
  }
  ASSERT_EQ(sqlite3_open(path.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
}

TEST_P(StoreTest, AnUnavailableStoreAnswers503WithRetryAfterAndRecovers) {
  ASSERT_EQ(increment("visits", 1).value(), 1);
  sqlite3* holder = nullptr;
  make_unavailable(GetParam(), redis_.get(), directory_ / "store.sqlite3", holder);
  auto count = [](const Request& request, Response& response) {
    request.store().increment("visits", 1, response, [](std::int64_t visits, Response& response) {
      response.text(200, std::to_string(visits));
    });
  };
  auto response = serve("", count);
  EXPECT_EQ(response.status(), 503);
  EXPECT_FALSE(response.body().empty());
  bool retry_after = false;
  for (const auto& [name, value] : response.headers()) retry_after |= name == "Retry-After" && value >= "1";
  EXPECT_TRUE(retry_after);
  EXPECT_EQ(backend_->health(), detail::StoreHealth::down);
  // Sessions too: a store route, whatever it needs from the store.
  EXPECT_EQ(log_in("", "alice").status(), 503);

  if (GetParam() == Kind::redis) {
    redis_->start();
  } else {
    ASSERT_EQ(sqlite3_exec(holder, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(holder);
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (serve("", count).status() != 200 && std::chrono::steady_clock::now() < deadline) loop_.run_once(20ms);
  EXPECT_EQ(backend_->health(), detail::StoreHealth::up);
  // Nothing acknowledged was lost: 1 before, then the one that just succeeded (Redis
  // keeps its append-only file across the restart).
  EXPECT_GE(increment("visits", 0).value(), 2);  // one cut by the outage may count too
}

TEST_P(StoreTest, ASessionFunctionThatCallsTheStoreStillSavesBeforeTheAnswerAndSendsTheCookie) {
  const auto response = serve("", [](const Request& request, Response& response) {
    request.session(response, [&request](Session& session, Response& response) {
      session.set("user", "alice");
      request.store().increment("logins", 1, response, [&session](std::int64_t logins, Response& response) {
        // The session outlives the function it was given to, until the answer is sent.
        session.set("login", std::to_string(logins));
        response.text(200, "welcome");
      });
    });
  });
  EXPECT_EQ(response.status(), 200);
  const auto id = session_cookie(response);
  ASSERT_TRUE(id) << "no cookie";
  EXPECT_EQ(user_of(*id), "alice");
  const auto fields = serve("test_session=" + *id, [](const Request& request, Response& response) {
    request.session(response, [](Session& session, Response& response) {
      response.text(200, std::string(session.get("login").value_or("-")));
    });
  });
  EXPECT_EQ(fields.body(), "1");
}

TEST_P(StoreTest, ALogoutSticksWhenAnotherRequestOfTheSessionSavesAfterIt) {
  const auto id = session_cookie(log_in("", "alice"));
  ASSERT_TRUE(id);
  const auto cookie = "test_session=" + *id;
  auto log_out = [](const Request& request, Response& response) {
    request.session(response, [](Session& session, Response& response) {
      session.destroy();
      response.text(200, "bye");
    });
  };
  // A loads the session and changes it; B logs out before A's save.
  const auto late = serve(cookie, [&](const Request& request, Response& response) {
    request.session(response, [&](Session& session, Response& response) {
      EXPECT_FALSE(session.is_new());
      session.set("cart", "3 apples");
      EXPECT_EQ(session_cookie(serve(cookie, log_out)), "");
      response.text(200, "added");
    });
  });
  EXPECT_EQ(late.status(), 200);
  EXPECT_FALSE(session_cookie(late)) << "the logged-out session's cookie was sent again";
  EXPECT_EQ(user_of(*id), "-");
}

TEST_P(StoreTest, NoStoreKeyCanBecomeASession) {
  const auto id = detail::new_session_id();
  const auto forged = detail::encode_session({{{"user", "admin"}}, now_ms_});
  for (const auto& key : {"session:" + id, "s:" + id, "test@session:" + id, id}) ASSERT_TRUE(set(key, forged).ok());
  EXPECT_EQ(user_of(id), "-");
}

TEST_P(StoreTest, IncrementKeepsAKeysExpiry) {
  ASSERT_TRUE(set("hits", "0", 3'600'000ms).ok());
  EXPECT_EQ(increment("hits", 1).value(), 1);
  if (sqlite()) {
    now_ms_ += 3'600'001;
    EXPECT_FALSE(get("hits").value());  // expired with its key, not kept forever
    EXPECT_EQ(increment("hits", 1).value(), 1);
  } else {
    const auto command = "test \"$(redis-cli -s " + redis_->socket_path() + " pttl test:hits)\" -gt 3000000";
    const auto ttl = std::system(command.c_str());
    EXPECT_EQ(ttl, 0) << "INCRBY dropped the expiry";
  }
}

TEST_P(StoreTest, AResponseIsContinuedOnceOnEitherBackend) {
  EXPECT_THROW(serve("", [](const Request& request, Response& response) {
                 request.store().get("a", response, [](auto, Response& response) { response.text(200, "a"); });
                 request.store().get("b", response, [](auto, Response& response) { response.text(200, "b"); });
               }),
               std::logic_error);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Kind::sqlite, Kind::sqlite_in_a_worker, Kind::redis),
                         [](const auto& info) {
                           return info.param == Kind::sqlite               ? "sqlite"
                                  : info.param == Kind::sqlite_in_a_worker ? "sqlite_in_a_worker"
                                                                           : "redis";
                         });

// A file moved or replaced under a running worker (a restore, a mistaken mv): SQLite
// refuses to write to the file it has open (SQLITE_READONLY_DBMOVED); the worker opens
// the file at the path again instead of answering 503 until a restart.
TEST(SqliteStore, AFileMovedOrReplacedWhileOpenIsOpenedAgainAtItsPath) {
  test::TempDir directory;
  const std::string path = directory / "store.sqlite3";
  std::int64_t now_ms = 1'000;
  detail::SqliteBackend backend(path, 100ms, [&] { return now_ms; });
  auto increment = [&](std::int64_t by) {
    std::optional<std::int64_t> value;
    backend.increment("visits", by, [&](detail::Outcome<std::int64_t> outcome) {
      if (outcome.ok()) value = outcome.value();
    });
    return value;
  };
  ASSERT_EQ(increment(1), 1);
  // Replaced: a restore of another copy, renamed over the path.
  {
    detail::SqliteBackend other(directory / "restored.sqlite3", 100ms, [] { return std::int64_t{1'000}; });
    std::optional<std::int64_t> value;
    other.increment("visits", 41, [&](detail::Outcome<std::int64_t> outcome) { value = outcome.value(); });
    ASSERT_EQ(value, 41);
  }
  std::filesystem::rename(directory / "restored.sqlite3", path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  now_ms += 1'000;  // the file is looked at once a second
  EXPECT_EQ(increment(1), 42) << "the restored file is the store now";
  EXPECT_EQ(backend.health(), detail::StoreHealth::up);
  // Moved away without its log: the old file's -wal beside a new file would corrupt
  // it, so the store is down (503) until the log goes too.
  std::filesystem::rename(path, directory / "moved.sqlite3");
  now_ms += 1'000;
  EXPECT_EQ(increment(1), std::nullopt);
  EXPECT_EQ(backend.health(), detail::StoreHealth::down);
  EXPECT_FALSE(std::filesystem::exists(path)) << "no new file beside the old log";
  // The log moved with it: a new, empty store at the path, as at a first start.
  std::filesystem::rename(path + "-wal", directory / "moved.sqlite3-wal");
  std::filesystem::rename(path + "-shm", directory / "moved.sqlite3-shm");
  EXPECT_EQ(increment(1), 1);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(backend.health(), detail::StoreHealth::up);
}

TEST(UnconfiguredStore, Answers503SayingHowToConfigureOne) {
  RecordingLoop handler_loop;
  detail::WorkerStore store(detail::unconfigured_store("store: no state directory"), {"s", 1h, false}, handler_loop,
                            [] { return std::int64_t{0}; });
  Request request;
  detail::RequestAccess::set_request_line(request, "GET", "/", 1);
  detail::RequestAccess::finish_head(request);
  detail::RequestAccess::bind_store(request, &store);
  std::optional<Response> unused;
  TestDeferrer deferrer(unused);
  Response response;
  detail::ResponseAccess::set_deferrer(response, &deferrer);
  request.store().increment("visits", 1, response, [](std::int64_t, Response& response) { response.text(200, ""); });
  EXPECT_EQ(response.status(), 503);
  EXPECT_EQ(store.backend().health(), detail::StoreHealth::off);
}

TEST(RedisStore, AWriteNoReplicaConfirmsIsUnavailableAndAReadIsNotHeldBack) {
  test::RedisServer redis;  // no replica
  EventLoop loop;
  detail::RedisBackend backend(loop, detail::parse_store_address(redis.address()), detail::RedisBackend::Passwords{},
                               "test", 1s, /*wait_replicas=*/1);  // WAIT gives up after 0.5 s
  std::optional<Outcome<std::int64_t>> counted;
  backend.increment("visits", 1, [&](auto outcome) { counted.emplace(std::move(outcome)); });
  std::optional<Outcome<std::optional<std::string>>> read;
  backend.get(detail::KeySpace::data, "visits", [&](auto outcome) { read.emplace(std::move(outcome)); });
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((!counted || !read) && std::chrono::steady_clock::now() < deadline) loop.run_once(10ms);
  ASSERT_TRUE(counted && read);
  ASSERT_FALSE(counted->ok());
  EXPECT_EQ(counted->failure().kind, detail::StoreFailure::Kind::unavailable);
  EXPECT_NE(counted->failure().message.find("WAIT: the write reached 0 of the 1 replicas"), std::string::npos)
      << counted->failure().message;
  ASSERT_TRUE(read->ok()) << "reads do not wait for replicas";
  EXPECT_EQ(read->value(), "1") << "the write happened on the primary; it was only not confirmed";
}

TEST(RedisStore, AWrongTypeIsTheHandlersBugNotAnOutage) {
  test::RedisServer redis;
  EventLoop loop;
  detail::RedisBackend backend(loop, detail::parse_store_address(redis.address()), detail::RedisBackend::Passwords{},
                               "test", 2s);
  ASSERT_EQ(std::system(("redis-cli -s " + redis.socket_path() + " rpush test:list a >/dev/null").c_str()), 0);
  std::optional<Outcome<std::optional<std::string>>> result;
  backend.get(detail::KeySpace::data, "list", [&](auto outcome) { result.emplace(std::move(outcome)); });
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!result && std::chrono::steady_clock::now() < deadline) loop.run_once(10ms);
  ASSERT_TRUE(result && !result->ok());
  EXPECT_EQ(result->failure().kind, StoreFailure::Kind::misuse) << result->failure().message;
}

TEST(SqliteStore, AFileThatIsNotADatabaseIsAnErrorNamingItAndWhatToDo) {
  test::TempDir directory;
  const auto path = directory / "store.sqlite3";
  {
    std::ofstream file(path);
    file << std::string(4096, 'x');
  }
  try {
    detail::check_sqlite_store(path);
    FAIL() << "accepted a file that is not a database";
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("move the file"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace corral
