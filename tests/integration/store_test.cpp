// The seed's shared-state routes on the real binary, on SQLite and on a real
// redis-server: sessions and the counter across workers, instances, restarts and
// failures of the store.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"
#include "support/store_client.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace corral::test {
namespace {

enum class Kind { sqlite, redis };


class StoreRoutes : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::redis) redis_ = std::make_unique<RedisServer>();
  }
  std::vector<std::string> store_flags() const {
    if (GetParam() == Kind::redis) return {"--store", redis_->address(), "--store-timeout", "2"};
    return {"--state-dir", state_.path()};
  }
  std::unique_ptr<CorralInstance> start(unsigned workers = 2) { return CorralInstance::start(store_flags(), workers); }

  TempDir state_;
  std::unique_ptr<RedisServer> redis_;
};

TEST_P(StoreRoutes, ASessionMadeOnOneWorkerIsKnownToEveryWorker) {
  auto corral = start(4);
  const auto cookie = log_in(corral->port, "alice");
  // New connections spread over the four workers; each must find the session.
  for (int i = 0; i < 16; ++i) {
    const auto me = exchange(corral->port, "GET", "/me", cookie);
    EXPECT_EQ(me.status, 200);
    EXPECT_EQ(me.body, "alice\n");
  }
  EXPECT_EQ(exchange(corral->port, "GET", "/me").status, 401);
  EXPECT_EQ(exchange(corral->port, "POST", "/logout", cookie).status, 200);
  EXPECT_EQ(exchange(corral->port, "GET", "/me", cookie).status, 401);
}

TEST_P(StoreRoutes, ALoginRegeneratesTheSessionId) {
  auto corral = start();
  const auto first = log_in(corral->port, "alice");
  const auto again = exchange(corral->port, "POST", "/login", first, "user=bob");
  const auto second = session_cookie(again);
  EXPECT_NE(first, second);
  EXPECT_EQ(exchange(corral->port, "GET", "/me", first).status, 401);
  EXPECT_EQ(exchange(corral->port, "GET", "/me", second).body, "bob\n");
}

TEST_P(StoreRoutes, HostileCookiesAreNoSessionAndCrashNothing) {
  auto corral = start();
  const auto workers = corral->workers();
  for (const std::string& cookie : std::vector<std::string>{
           "corral_session=", "corral_session=x", "corral_session=" + std::string(6000, 'A'),
           "corral_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "corral_session=\"\\\"\"; a=b",
           "corral_session=%00%ff%0d%0a"}) {
    EXPECT_EQ(exchange(corral->port, "GET", "/me", cookie).status, 401) << cookie;
  }
  EXPECT_EQ(corral->workers(), workers);
}

TEST_P(StoreRoutes, FourWorkersCountTwoThousandConcurrentVisitsExactly) {
  auto corral = start(4);
  {
    VisitLoad load(corral->port, 20, 100);
    load.join();
    EXPECT_EQ(load.acknowledged, 2000u);
    EXPECT_EQ(load.other + load.unavailable, 0u);
  }
  EXPECT_EQ(visits(corral->port), 2000);
}

TEST_P(StoreRoutes, ASessionSurvivesRestartsAndAKilledSupervisor) {
  auto corral = start();
  const auto cookie = log_in(corral->port, "alice");
  ASSERT_EQ(exchange(corral->port, "POST", "/visits").status, 200);
  // A worker killed outright: the session is in the store, not in the worker.
  for (const auto pid : corral->workers()) ::kill(pid, SIGKILL);
  corral->wait_worker_ready(corral->mark());
  EXPECT_EQ(exchange(corral->port, "GET", "/me", cookie).body, "alice\n");
  // A clean restart.
  corral->process->signal(SIGTERM);
  ASSERT_TRUE(corral->process->wait_exit(30s));
  corral = start();
  EXPECT_EQ(exchange(corral->port, "GET", "/me", cookie).body, "alice\n");
  // The supervisor SIGKILLed: its workers follow it (parent-death signal).
  const auto orphans = corral->workers();
  corral->process->signal(SIGKILL);
  ASSERT_TRUE(corral->process->wait_exit(10s));
  for (const auto pid : orphans) ASSERT_TRUE(wait_gone(pid, 10s));
  corral = start();
  EXPECT_EQ(exchange(corral->port, "GET", "/me", cookie).body, "alice\n");
  EXPECT_EQ(visits(corral->port), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreRoutes, ::testing::Values(Kind::sqlite, Kind::redis),
                         [](const auto& info) { return info.param == Kind::sqlite ? "sqlite" : "redis"; });

TEST(RedisStore, TwoInstancesOnOneRedisShareSessionsAndCountAsOne) {
  RedisServer redis;
  auto a = CorralInstance::start({"--store", redis.address()}, 2);
  auto b = CorralInstance::start({"--store", redis.address()}, 2);
  const auto cookie = log_in(a->port, "alice");
  EXPECT_EQ(exchange(b->port, "GET", "/me", cookie).body, "alice\n");
  {
    VisitLoad on_a(a->port, 8, 100);
    VisitLoad on_b(b->port, 8, 100);
    on_a.join();
    on_b.join();
    EXPECT_EQ(on_a.acknowledged + on_b.acknowledged, 1600u);
  }
  EXPECT_EQ(visits(a->port), 1600);
  EXPECT_EQ(visits(b->port), 1600);
}

TEST(RedisStore, StoreRoutesAnswer503WhileRedisIsDownAndRecoverWithoutARestart) {
  RedisServer redis;
  auto corral = CorralInstance::start({"--store", redis.address(), "--store-timeout", "1"}, 2);
  const auto workers = corral->workers();
  const auto cookie = log_in(corral->port, "alice");
  ASSERT_TRUE(corral->notify.wait_for("store redis", 5s));
  VisitLoad load(corral->port, 8);
  auto wait_until = [](auto condition, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    return condition();
  };
  ASSERT_TRUE(wait_until([&] { return load.acknowledged >= 200; }, 10s));
  redis.stop();
  ASSERT_TRUE(wait_until([&] { return load.unavailable >= 50; }, 10s));
  // Every other route keeps serving, and the supervisor's status says why.
  EXPECT_EQ(exchange(corral->port, "GET", "/healthz").status, 200);
  EXPECT_EQ(exchange(corral->port, "GET", "/me", cookie).status, 503);
  EXPECT_TRUE(corral->notify.wait_for("DOWN in", 5s));
  redis.start();
  const auto before = load.acknowledged.load();
  EXPECT_TRUE(wait_until([&] { return load.acknowledged >= before + 200; }, 15s));
  load.stop();
  EXPECT_EQ(load.other, 0u);
  // Nothing acknowledged was lost (an increment whose reply the outage cut may count too).
  const auto counted = visits(corral->port);
  EXPECT_GE(counted, static_cast<std::int64_t>(load.acknowledged.load()));
  EXPECT_LE(counted, static_cast<std::int64_t>(load.attempted.load()));
  EXPECT_EQ(exchange(corral->port, "GET", "/me", cookie).body, "alice\n");
  EXPECT_EQ(corral->workers(), workers);  // recovered without a restart
}

TEST(RedisStore, ARedisThatIsDownAtStartIsReachedOnceItIsUp) {
  RedisServer redis;
  redis.stop();
  auto corral = CorralInstance::start({"--store", redis.address()}, 2);
  const auto refused = exchange(corral->port, "POST", "/visits");
  EXPECT_EQ(refused.status, 503);
  EXPECT_FALSE(refused.header("retry-after").empty());
  EXPECT_EQ(exchange(corral->port, "GET", "/healthz").status, 200);
  redis.start();
  auto status_of = [&](const char* method) {
    try {
      return exchange(corral->port, method, "/visits").status;
    } catch (const std::exception&) {
      return 0;
    }
  };
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (status != 200 && std::chrono::steady_clock::now() < deadline) status = status_of("POST");
  EXPECT_EQ(status, 200) << corral->process->output();
  // Each worker reconnects on its own backoff, and says so. (Requests cannot tell: the
  // kernel may hand every new connection to the same worker.)
  EXPECT_TRUE(corral->process->wait_for_lines(std::regex("answers again"), 2, 30s)) << corral->process->output();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(status_of("GET"), 200);
  // At least the acknowledged increment; one whose reply a slow reconnect cut (503)
  // may have been counted too.
  EXPECT_GE(visits(corral->port), 1);
}

TEST(SqliteStore, WorkersKilledMidWriteLoseNothingAcknowledged) {
  TempDir state;
  auto corral = CorralInstance::start({"--state-dir", state.path()}, 2);
  VisitLoad load(corral->port, 8);
  for (int kill = 0; kill < 3; ++kill) {
    const auto mark = corral->mark();
    const auto victims = corral->workers();
    ASSERT_FALSE(victims.empty());
    ::kill(victims.front(), SIGKILL);
    corral->wait_worker_ready(mark);
  }
  load.stop();
  const auto counted = visits(corral->port);
  EXPECT_GE(counted, static_cast<std::int64_t>(load.acknowledged.load()));
  EXPECT_LE(counted, static_cast<std::int64_t>(load.attempted.load()));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((state / "store.sqlite3").c_str(), &db), SQLITE_OK);
  std::string verdict;
  sqlite3_exec(
      db, "PRAGMA integrity_check",
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) = values[0];
        return 0;
      },
      &verdict, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(verdict, "ok");
}

TEST(SqliteStore, ALockedDatabaseAnswers503AndTheRestServes) {
  TempDir state;
  auto corral = CorralInstance::start({"--state-dir", state.path(), "--store-timeout", "0.2"}, 2);
  ASSERT_EQ(exchange(corral->port, "POST", "/visits").status, 200);
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open((state / "store.sqlite3").c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  const auto refused = exchange(corral->port, "POST", "/visits");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.header("retry-after"), "1");
  EXPECT_EQ(exchange(corral->port, "GET", "/healthz").status, 200);
  EXPECT_EQ(visits(corral->port), 1);  // readers are not blocked by a writer (WAL)
  ASSERT_EQ(sqlite3_exec(holder, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(holder);
  EXPECT_EQ(exchange(corral->port, "POST", "/visits").status, 200);
  EXPECT_EQ(visits(corral->port), 2);
}

TEST(SqliteStore, AFullDiskAnswers503AndRecoversOnceThereIsRoom) {
  TempDir state;
  if (::geteuid() != 0 || std::system(("mount -t tmpfs -o size=1m corral-test " + state.path()).c_str()) != 0) {
    GTEST_SKIP() << "needs root to mount a small file system";
  }
  struct Unmount {
    std::string path;
    ~Unmount() {
      if (std::system(("umount -l " + path).c_str()) != 0) ADD_FAILURE() << "umount -l " << path << " failed";
    }
  } unmount{state.path()};
  auto corral = CorralInstance::start({"--state-dir", state.path()}, 2);
  ASSERT_EQ(exchange(corral->port, "POST", "/visits").status, 200);
  // Fill what is left, then write sessions until SQLite needs a page it cannot get.
  // dd fails when the disk is full, which is the point.
  [[maybe_unused]] const int filled =
      std::system(("dd if=/dev/zero of=" + (state / "filler") + " bs=4k 2>/dev/null").c_str());
  int unavailable = 0;
  for (int i = 0; i < 400 && unavailable == 0; ++i) {
    const auto response = exchange(corral->port, "POST", "/login", "", "user=" + std::string(60, 'a'));
    if (response.status == 503) {
      ++unavailable;
      EXPECT_EQ(response.header("retry-after"), "1");
    } else {
      ASSERT_EQ(response.status, 200) << response.body;
    }
  }
  EXPECT_EQ(unavailable, 1) << "the disk never filled up";
  EXPECT_EQ(exchange(corral->port, "GET", "/healthz").status, 200);
  std::filesystem::remove(state / "filler");
  EXPECT_EQ(exchange(corral->port, "POST", "/visits").status, 200);
  EXPECT_EQ(visits(corral->port), 2);
}

// Starts the binary expecting it to refuse; its output.
std::string refused_start(const std::vector<std::string>& argv) {
  ChildProcess process(argv);
  const auto status = process.wait_exit(10s);
  EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << process.output();
  return process.output();
}

// The seed's purge-sessions task, run by hand as a systemd timer would: expired
// sessions go, live ones stay.
TEST(SqliteStore, ThePurgeTaskDeletesExpiredSessionsAndKeepsLiveOnes) {
  TempDir state;
  const auto socket = state / "control.sock";
  auto corral = CorralInstance::start({"--state-dir", state.path(), "--control-socket", socket}, 2);
  const auto live = log_in(corral->port, "ada");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((state / "store.sqlite3").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  // 2,500 sessions that expired a minute ago: more than one batch of the purge.
  ASSERT_EQ(sqlite3_exec(db,
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
                         "INSERT INTO corral_kv SELECT CAST('s:expired-' || i AS BLOB), x'00', "
                         "CAST(strftime('%s','now') AS INTEGER) * 1000 - 60000 FROM n",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  const auto count = [db](const char* sql) {
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &statement, nullptr);
    sqlite3_step(statement);
    const auto value = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    return value;
  };
  ASSERT_EQ(count("SELECT count(*) FROM corral_kv WHERE expires_at < strftime('%s','now') * 1000"), 2500);
  const auto from = corral->mark();
  const auto run_now = run_to_exit({corral_binary(), "task", "run", "purge-sessions", "--control-socket", socket});
  ASSERT_EQ(run_now.exit_code, 0) << run_now.output;
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("task purge-sessions: ok"), 10s, from))
      << corral->process->output();
  EXPECT_EQ(count("SELECT count(*) FROM corral_kv WHERE expires_at < strftime('%s','now') * 1000"), 0);
  sqlite3_close(db);
  EXPECT_EQ(exchange(corral->port, "GET", "/me", live).status, 200) << "a live session was purged";
}

TEST(SqliteStore, ADatabaseFileThatIsNotADatabaseStopsTheStartNamingTheFile) {
  TempDir state;
  std::ofstream(state / "store.sqlite3") << std::string(8192, 'x');
  const auto output = refused_start({corral_binary(), "--listen", "127.0.0.1:0", "--state-dir", state.path()});
  EXPECT_NE(output.find(state / "store.sqlite3"), std::string::npos) << output;
  EXPECT_NE(output.find("move the file"), std::string::npos) << output;
}

TEST(SqliteStore, ADatabaseFileTheServiceCannotWriteStopsTheStartSayingWhatToDo) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run corral as another user";
  TempDir state;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((state / "store.sqlite3").c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE t (x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  // Owned by root and read-only, in a directory the service's user owns: the mistake
  // of a database copied in by hand.
  std::filesystem::permissions(state / "store.sqlite3", std::filesystem::perms::owner_read |
                                                            std::filesystem::perms::group_read |
                                                            std::filesystem::perms::others_read);
  ASSERT_EQ(::chown(state.path().c_str(), 65534, 65534), 0);
  ::chmod(state.path().c_str(), 0755);
  const auto output = refused_start({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", corral_binary(),
                                     "--listen", "127.0.0.1:0", "--state-dir", state.path()});
  EXPECT_NE(output.find(state / "store.sqlite3"), std::string::npos) << output;
  EXPECT_NE(output.find("fix the owner"), std::string::npos) << output;
}

}  // namespace
}  // namespace corral::test
