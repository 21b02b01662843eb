// corral under a real systemd (a container booted by box.sh): socket activation,
// status, journal, reload, restart, stop, watchdog and a killed supervisor.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include "box.hpp"
#include "box_client_loop.hpp"
#include "support/child_process.hpp"

namespace corral::test {
namespace {

const std::string config_path = "/usr/local/etc/corral/corral.toml";
const std::string good_config = "workers = 2\ndrain_timeout = 10\nenable_debug_routes = true\n";

std::set<std::string> words(const std::string& text) {
  std::istringstream in(text);
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

class UnderSystemd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto& box = Box::shared();
    box.install(build_path("src/corral"), "/usr/local/bin/corral", "0755");
    box.install(build_path("units/corral.socket"), "/etc/systemd/system/corral.socket");
    box.install(build_path("units/corral.service"), "/etc/systemd/system/corral.service");
    box.install(build_path("units/corral-metrics.socket"), "/etc/systemd/system/corral-metrics.socket");
    box.install(source_path("docs/corral.8"), "/usr/local/share/man/man8/corral.8");
    box.must("mkdir -p /usr/local/etc/corral && systemctl daemon-reload");
  }

  void SetUp() override {
    box().run("systemctl stop corral.socket corral-metrics.socket corral.service test-prometheus.service; "
              "systemctl reset-failed corral.socket corral-metrics.socket corral.service test-prometheus.service; "
              "rm -rf /etc/systemd/system/corral.service.d; systemctl daemon-reload");
    write_config(good_config);
    box().must("systemctl start corral.socket");
  }

  static const Box& box() { return Box::shared(); }

  void write_config(const std::string& text) const {
    box().must("cat > " + config_path + " <<'EOF'\n" + text + "EOF");
  }

  std::string show(const std::string& property) const {
    auto value = box().must("systemctl show corral.service -p " + property + " --value");
    while (!value.empty() && value.back() == '\n') value.pop_back();
    return value;
  }

  std::string get(const std::string& path) const {
    return box().must("curl -s --max-time 20 http://127.0.0.1:3000" + path);
  }

  // The service's processes, from its cgroup.
  std::set<std::string> cgroup_pids() const {
    return words(box().must("cat /sys/fs/cgroup" + show("ControlGroup") + "/cgroup.procs"));
  }
  std::set<std::string> worker_pids() const {
    auto pids = cgroup_pids();
    pids.erase(show("MainPID"));
    return pids;
  }

  std::unique_ptr<ChildProcess> follow_journal(const std::string& arguments = "-o cat") const {
    return box().follow_journal(arguments);
  }
};

TEST_F(UnderSystemd, FirstRequestStartsTheServiceAndItsWorkersAreInItsCgroup) {
  EXPECT_EQ(show("ActiveState"), "inactive");
  const auto body = get("/");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(body, match, std::regex(R"(I am worker, pid:(\d+), ppid:(\d+))"))) << body;
  EXPECT_EQ(show("ActiveState"), "active");
  EXPECT_EQ(show("MainPID"), match[2].str());
  EXPECT_NE(show("StatusText").find("2/2 workers ready"), std::string::npos) << show("StatusText");
  const auto pids = cgroup_pids();
  EXPECT_EQ(pids.size(), 3u);
  EXPECT_TRUE(pids.contains(match[1].str()));
  EXPECT_NE(box().must("ps -o args= -p " + match[1].str()).find("corral: worker"), std::string::npos);
}

TEST_F(UnderSystemd, UnitsVerifyAndScoreSafe) {
  const auto verify = box().run("systemd-analyze verify /etc/systemd/system/corral.socket /etc/systemd/system/corral.service");
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_EQ(verify.output, "") << verify.output;
  const auto security = box().must("systemd-analyze security corral.service --no-pager");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(security, match, std::regex(R"(Overall exposure level for corral.service: ([0-9.]+))")));
  EXPECT_LE(std::stod(match[1]), 1.0) << security;
}

TEST_F(UnderSystemd, JournalCarriesWorkerPidsAndFields) {
  auto journal = follow_journal("-u corral -o json");
  const auto body = get("/debug/sleep?ms=1");
  const auto workers = worker_pids();
  ASSERT_EQ(workers.size(), 2u);
  const auto line = journal->wait_for_line(std::regex(R"(/debug/sleep: answering in 1 ms)"), 20s);
  ASSERT_TRUE(line) << journal->output();
  // Every line from a worker names its role and slot, and carries its own pid.
  const auto by_role = box().must("journalctl -u corral --no-pager -o json CORRAL_ROLE=worker");
  EXPECT_NE(by_role.find("\"CORRAL_SLOT\""), std::string::npos);
  EXPECT_NE(by_role.find("\"CORRAL_GENERATION\""), std::string::npos);
  int worker_lines = 0;
  for (const auto& pid : workers) {
    if (by_role.find("\"_PID\":\"" + pid + "\"") != std::string::npos) ++worker_lines;
  }
  EXPECT_GE(worker_lines, 1) << by_role;
  EXPECT_EQ(by_role.find("supervisor started"), std::string::npos) << "the filter lets supervisor lines through";
  const auto supervisor = box().must("journalctl -u corral --no-pager -o json CORRAL_ROLE=supervisor _PID=" + show("MainPID"));
  EXPECT_NE(supervisor.find("supervisor started"), std::string::npos) << supervisor;
  const auto short_view = box().must("journalctl -u corral --no-pager -o short");
  EXPECT_TRUE(std::regex_search(short_view, std::regex(R"(corral\[\d+\]: worker \d+: )"))) << short_view;
}

TEST_F(UnderSystemd, ASessionLivesInTheStateDirectoryAndSurvivesRestartsAndAKilledSupervisor) {
  EXPECT_EQ(box().must("curl -s --max-time 20 -c /tmp/jar -d user=alice http://127.0.0.1:3000/login"),
            "logged in as alice\n");
  const auto me = [&] { return box().must("curl -s --max-time 20 -b /tmp/jar http://127.0.0.1:3000/me"); };
  EXPECT_EQ(me(), "alice\n");
  EXPECT_NE(show("StatusText").find("store sqlite /var/lib/corral/store.sqlite3 up"), std::string::npos)
      << show("StatusText");
  // DynamicUser= keeps the state directory under /var/lib/private, the service's own.
  box().must("test -s /var/lib/private/corral/store.sqlite3");
  box().must("systemctl restart corral.service");
  EXPECT_EQ(me(), "alice\n");
  const auto killed = show("MainPID");
  box().must("systemctl kill -s KILL --kill-whom=main corral.service");
  box().must("for i in $(seq 100); do p=$(systemctl show -p MainPID --value corral.service); "
             "[ \"$p\" != 0 ] && [ \"$p\" != " + killed + " ] && break; sleep 0.1; done");
  EXPECT_EQ(me(), "alice\n");
}

TEST_F(UnderSystemd, RedisThroughTheDocumentedDropInWithThePasswordAsACredential) {
  box().must("install -d -m 0755 /etc/corral && printf 's3cret\\n' > /etc/corral/store-password && "
             "chmod 0600 /etc/corral/store-password");
  box().must("redis-server --port 6379 --bind 127.0.0.1 --requirepass s3cret --daemonize yes --save '' "
             "--dir /tmp --logfile /tmp/redis.log");
  box().must("for i in $(seq 50); do redis-cli -a s3cret --no-auth-warning ping 2>/dev/null | grep -q PONG && "
             "break; sleep 0.1; done");
  write_config(good_config + "store = \"redis://127.0.0.1:6379/0\"\n");
  box().install(source_path("units/redis-store.conf"), "/etc/systemd/system/corral.service.d/redis-store.conf");
  box().must("systemctl daemon-reload");
  EXPECT_EQ(box().must("curl -s --max-time 20 -c /tmp/jar -d user=bob http://127.0.0.1:3000/login"),
            "logged in as bob\n");
  EXPECT_EQ(box().must("curl -s --max-time 20 -b /tmp/jar http://127.0.0.1:3000/me"), "bob\n");
  EXPECT_EQ(box().must("curl -s --max-time 20 -X POST http://127.0.0.1:3000/visits"), "1\n");
  EXPECT_EQ(box().must("redis-cli -a s3cret --no-auth-warning get corral:visits"), "1\n");
  // Workers report the store's state with their heartbeat, once a second.
  const auto status = box().run("for i in $(seq 50); do systemctl show -p StatusText --value corral.service | "
                                "grep -q 'store redis 127.0.0.1:6379/0 up' && exit 0; sleep 0.1; done; exit 1");
  EXPECT_EQ(status.exit_code, 0) << show("StatusText");
  // The password is nowhere in the configuration, the unit or the command line.
  EXPECT_EQ(box().run("grep -rl s3cret /usr/local/etc/corral /etc/systemd/system").output, "");
  EXPECT_EQ(box().must("ps -eo args").find("s3cret --"), std::string::npos);
  box().run("redis-cli -a s3cret --no-auth-warning shutdown nosave");
}

TEST_F(UnderSystemd, WorkersServeThroughIoUringUnderTheShippedFilterAndThroughEpollWhereItIsRefused) {
  const auto workers_holding_a_ring = [&] {
    std::size_t holding = 0;
    for (const auto& pid : worker_pids()) {
      if (box().run("ls -l /proc/" + pid + "/fd | grep -q 'anon_inode:\\[io_uring\\]'").exit_code == 0) ++holding;
    }
    return holding;
  };
  // @system-service allows io_uring (its @aio group): the default is served through it.
  EXPECT_TRUE(get("/").starts_with("I am worker"));
  EXPECT_EQ(workers_holding_a_ring(), 2u);

  // A filter that refuses it (a container's, say): the workers serve through epoll and say why.
  box().must("mkdir -p /etc/systemd/system/corral.service.d && "
             "printf '[Service]\\nSystemCallFilter=~io_uring_setup\\n' "
             "> /etc/systemd/system/corral.service.d/no-io-uring.conf && systemctl daemon-reload");
  auto journal = follow_journal("-u corral -o cat");
  box().must("systemctl restart corral.service");
  EXPECT_EQ(box().must("curl -s -o /dev/null -w '%{http_code}' --max-time 20 http://127.0.0.1:3000/"), "200");
  EXPECT_TRUE(
      journal->wait_for_line(std::regex("serving through epoll: io_uring_setup.*Operation not permitted.*"), 20s))
      << journal->output();
  EXPECT_EQ(workers_holding_a_ring(), 0u);
}

TEST_F(UnderSystemd, ReloadUnderLoadFailsNothingAndReplacesEveryWorker) {
  get("/");
  const auto before = worker_pids();
  BoxClientLoop load(box());
  auto journal = follow_journal("-u corral -o cat");
  box().must("systemctl reload corral");
  ASSERT_TRUE(journal->wait_for_line(std::regex("reload complete"), 30s)) << journal->output();
  for (const auto& old : before) {
    ASSERT_TRUE(journal->wait_for_line(std::regex("\\(pid " + old + ", generation \\d+\\) exited with code 0 after reload"), 30s))
        << journal->output();
  }
  const auto tally = load.finish();
  EXPECT_GT(tally.answered, 10);
  EXPECT_EQ(tally.failed, 0) << load.output();
  for (const auto& pid : worker_pids()) EXPECT_FALSE(before.contains(pid)) << "worker " << pid << " was not replaced";
  EXPECT_EQ(show("ActiveState"), "active");
}

TEST_F(UnderSystemd, BrokenConfigurationOnReloadKeepsServing) {
  get("/");
  const auto before = worker_pids();
  auto journal = follow_journal("-u corral -o cat");
  write_config("workers = 2\n\n[http]\nmax_body_bytes = \"lots\"\n");
  box().must("systemctl reload corral");
  const auto failure = journal->wait_for_line(std::regex("reload failed, still running the previous configuration: (.*)"), 30s);
  ASSERT_TRUE(failure) << journal->output();
  EXPECT_EQ(failure->at(1), config_path + ":4: http.max_body_bytes: must be a whole number from 0 to 1073741824 (got \"lots\")");
  EXPECT_TRUE(get("/").starts_with("I am worker"));
  EXPECT_NE(show("StatusText").find("reload failed"), std::string::npos) << show("StatusText");
  EXPECT_EQ(worker_pids(), before);
}

TEST_F(UnderSystemd, RestartUnderLoadRefusesNothing) {
  get("/");
  const auto old_main = show("MainPID");
  BoxClientLoop load(box());
  box().must("systemctl restart corral", 90s);
  EXPECT_NE(show("MainPID"), old_main);
  get("/");
  const auto tally = load.finish();
  EXPECT_GT(tally.answered, 10);
  EXPECT_EQ(tally.failed, 0) << load.output();
}

TEST_F(UnderSystemd, StopLetsASlowRequestFinishAndLeavesNothing) {
  get("/");
  const auto cgroup = show("ControlGroup");
  auto journal = follow_journal("-u corral -o cat");
  ChildProcess slow(box().command("curl -s --max-time 30 -w ' %{http_code}' http://127.0.0.1:3000/debug/sleep?ms=3000"));
  ASSERT_TRUE(journal->wait_for_line(std::regex("/debug/sleep: answering in 3000 ms"), 20s)) << journal->output();
  box().must("systemctl stop corral.service", 60s);
  ASSERT_TRUE(slow.wait_exit(30s));
  EXPECT_NE(slow.output().find("slept 3000 ms\n 200"), std::string::npos) << slow.output();
  EXPECT_EQ(show("ActiveState"), "inactive");
  EXPECT_NE(box().run("test -e /sys/fs/cgroup" + cgroup + "/cgroup.procs").exit_code, 0) << "cgroup left behind";
  EXPECT_TRUE(box().must("journalctl -u corral --no-pager -o cat").find("supervisor stopped") != std::string::npos);
}

TEST_F(UnderSystemd, WatchdogRestartsAFrozenSupervisorWithoutRefusingConnections) {
  box().must("mkdir -p /etc/systemd/system/corral.service.d && "
             "printf '[Service]\\nWatchdogSec=2\\n' > /etc/systemd/system/corral.service.d/watchdog.conf && "
             "systemctl daemon-reload");
  get("/");
  const auto frozen = show("MainPID");
  BoxClientLoop load(box());
  auto journal = follow_journal("-u corral -o cat");
  box().must("kill -STOP " + frozen);
  ASSERT_TRUE(journal->wait_for_line(std::regex("Watchdog timeout"), 30s)) << journal->output();
  ASSERT_TRUE(journal->wait_for_line(std::regex("all 2 workers ready"), 30s)) << journal->output();
  get("/");
  const auto tally = load.finish();
  EXPECT_EQ(show("NRestarts"), "1");
  EXPECT_NE(show("MainPID"), frozen);
  // In-flight requests of the killed pool may fail; none may be refused.
  EXPECT_EQ(tally.refused, 0) << load.output();
}

TEST_F(UnderSystemd, KilledSupervisorUnderLoadIsRestartedRefusingNothingAndLeavesNoWorker) {
  get("/");
  const auto old_main = show("MainPID");
  const auto old_workers = worker_pids();
  BoxClientLoop load(box());
  auto journal = follow_journal("-u corral -o cat");
  box().must("kill -9 " + old_main);
  ASSERT_TRUE(journal->wait_for_line(std::regex("all 2 workers ready"), 30s)) << journal->output();
  get("/");
  const auto tally = load.finish();
  EXPECT_GT(tally.answered, 10);
  // Requests in flight on the killed pool may fail; none may be refused.
  EXPECT_EQ(tally.refused, 0) << load.output();
  EXPECT_EQ(show("NRestarts"), "1");
  EXPECT_NE(show("MainPID"), old_main);
  for (const auto& pid : old_workers) {
    EXPECT_NE(box().run("kill -0 " + pid).exit_code, 0) << "worker " << pid << " of the killed supervisor survives";
  }
  EXPECT_TRUE(get("/").starts_with("I am worker"));
}

// One Prometheus query's first value, through the HTTP API.
double prometheus_value(const Box& box, const std::string& query) {
  // Not up yet (curl fails) or no such series: nan, and the caller waits.
  const auto answer = box.run("curl -sf --max-time 10 -G http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=" +
                              query + "'");
  if (answer.exit_code != 0) return std::nan("");
  const auto& json = answer.output;
  const auto value = box.run("python3 -c 'import json,sys; r=json.load(sys.stdin)[\"data\"][\"result\"]; "
                             "print(r[0][\"value\"][1] if r else \"nan\")' <<'EOF'\n" + json + "\nEOF");
  try {
    return std::stod(value.output);
  } catch (const std::exception&) {
    return std::nan("");
  }
}

TEST_F(UnderSystemd, PrometheusScrapesThePoolThroughTheMetricsSocket) {
  box().must("systemctl start corral-metrics.socket");
  get("/");  // starts corral.service, which is handed both sockets
  box().must("mkdir -p /tmp/prometheus && cat > /tmp/prometheus/prometheus.yml <<'EOF'\n"
             "global:\n  scrape_interval: 1s\n"
             "scrape_configs:\n  - job_name: corral\n    static_configs:\n      - targets: ['127.0.0.1:9464']\n"
             "EOF");
  box().must("systemd-run --unit=test-prometheus --property=Type=exec prometheus "
             "--config.file=/tmp/prometheus/prometheus.yml --storage.tsdb.path=/tmp/prometheus/data "
             "--web.listen-address=127.0.0.1:9090");
  auto wait_for = [&](const std::string& query, auto accept, const char* what) {
    double value = std::nan("");
    for (int attempt = 0; attempt < 300; ++attempt) {
      value = prometheus_value(box(), query);
      if (accept(value)) return value;
      box().must("sleep 0.1");
    }
    ADD_FAILURE() << what << ": " << query << " = " << value;
    return value;
  };
  wait_for("up{job=\"corral\"}", [](double v) { return v == 1; }, "corral is up");
  const auto query_total = "sum(corral_http_requests_total{code=\"2xx\"})";
  const auto before = wait_for(query_total, [](double v) { return v >= 1; }, "a first count");
  // 1000 requests, counted by the test; then Prometheus must have counted as many.
  box().must("for i in $(seq 100); do curl -s -o /dev/null -w '%{http_code}\\n' "
             "$(printf 'http://127.0.0.1:3000/healthz %.0s' $(seq 10)); done | grep -c 200 | grep -qx 1000");
  const auto after = wait_for(query_total, [&](double v) { return v >= before + 1000; }, "the load counted");
  EXPECT_NEAR(after - before, 1000, 50);  // within 5 %
  // A worker killed outright is counted as a restart by signal.
  const auto victim = *worker_pids().begin();
  box().must("kill -9 " + victim);
  wait_for("corral_worker_restarts_total{cause=\"signal\"}", [](double v) { return v == 1; }, "the restart counted");
  // The counters did not go back when the worker's own counts left with it.
  EXPECT_GE(prometheus_value(box(), query_total), after);
  // `corral status` reads the same pool over its control socket, /run/corral/control.sock.
  const auto status = box().must("/usr/local/bin/corral status");
  EXPECT_NE(status.find("2/2 workers ready"), std::string::npos) << status;
  EXPECT_NE(status.find("was killed by SIGKILL"), std::string::npos) << status;
  EXPECT_EQ(box().must("stat -c %a /run/corral/control.sock"), "600\n");
}

TEST_F(UnderSystemd, TheAccessLogPutsEachRequestsFieldsInTheJournal) {
  write_config(good_config + "access_log = true\n");
  auto journal = follow_journal("-u corral -o cat");
  EXPECT_EQ(box().must("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:3000/no/such/page"), "404");
  ASSERT_TRUE(journal->wait_for_line(std::regex("GET /no/such/page 404"), 20s)) << journal->output();
  const auto entry = box().must("journalctl -u corral --no-pager -o json CORRAL_STATUS=404");
  EXPECT_NE(entry.find("\"CORRAL_PATH\":\"/no/such/page\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("\"CORRAL_METHOD\":\"GET\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("127.0.0.1\""), std::string::npos) << entry;  // CORRAL_PEER, maybe as ::ffff:127.0.0.1
  EXPECT_NE(entry.find("\"CORRAL_DURATION_US\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("\"CORRAL_SLOT\""), std::string::npos) << entry;
}

TEST_F(UnderSystemd, ATimerRunsTheSeedsPurgeTaskAndEachRunIsAJournalEntry) {
  // The docs/operations.md example: a systemd timer asking the running service for a
  // run, for those who prefer OnCalendar= to the service's own schedule.
  box().must("cat > /etc/systemd/system/corral-purge.service <<'EOF'\n"
             "[Unit]\nDescription=Purge corral's expired sessions\nRequisite=corral.service\nAfter=corral.service\n"
             "[Service]\nType=oneshot\nExecStart=/usr/local/bin/corral task run purge-sessions\nEOF\n"
             "cat > /etc/systemd/system/corral-purge.timer <<'EOF'\n"
             "[Timer]\nOnActiveSec=1\nAccuracySec=1ms\nEOF\n"
             "systemctl daemon-reload");
  EXPECT_EQ(get("/healthz"), "ok");  // corral.service runs
  auto journal = follow_journal("-u corral -o cat");
  box().must("systemctl start corral-purge.timer");
  ASSERT_TRUE(journal->wait_for_line(std::regex("task purge-sessions: ok.*run by hand"), 30s)) << journal->output();
  EXPECT_EQ(box().must("systemctl show corral-purge.service -p Result --value"), "success\n");
  const auto entry = box().must("journalctl -u corral --no-pager -o json CORRAL_TASK=purge-sessions");
  EXPECT_NE(entry.find("\"CORRAL_TASK_OUTCOME\":\"ok\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("\"CORRAL_TASK_DURATION_US\""), std::string::npos) << entry;
  EXPECT_NE(entry.find("\"CORRAL_SLOT\""), std::string::npos) << entry;
  // corral status shows the task with its last run and its own schedule's next.
  const auto status = box().must("/usr/local/bin/corral status");
  EXPECT_TRUE(std::regex_search(status, std::regex("purge-sessions +every 60s +one +\\S+ ago +ok"))) << status;
  box().run("systemctl stop corral-purge.timer; rm /etc/systemd/system/corral-purge.*; systemctl daemon-reload");
}

}  // namespace
}  // namespace corral::test
