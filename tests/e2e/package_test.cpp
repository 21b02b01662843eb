// The Debian package, in a fresh systemd box for each test: install, upgrade under
// load, conffile handling, remove and purge. The packages are built once per run by
// build_packages.sh from clean copies of the source tree.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <regex>
#include <sstream>

#include "box.hpp"
#include "box_client_loop.hpp"
#include "support/child_process.hpp"

namespace corral::test {
namespace {

struct BuiltPackage {
  std::string folder;
  std::string version;
  std::string deb() const { return folder + "/corral_" + version + "_amd64.deb"; }
  std::string dev_deb() const { return folder + "/libcorral-dev_" + version + "_amd64.deb"; }
  std::string changes() const { return folder + "/corral_" + version + "_amd64.changes"; }
};

class DebianPackage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char directory[] = "/tmp/corral-packages-XXXXXX";
    ASSERT_NE(::mkdtemp(directory), nullptr);
    packages_dir_ = directory;
    ChildProcess build({source_path("tests/e2e/build_packages.sh"), environment_source_root(), packages_dir_});
    const auto status = build.wait_exit(30min);
    ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << build.output();
    const auto v1 = build.wait_for_line(std::regex(R"(^v1 (\S+) (\S+)$)"), 1s);
    const auto v2 = build.wait_for_line(std::regex(R"(^v2 (\S+) (\S+)$)"), 1s);
    ASSERT_TRUE(v1 && v2) << build.output();
    first_ = {v1->at(1), v1->at(2)};
    second_ = {v2->at(1), v2->at(2)};
  }
  static void TearDownTestSuite() {
    if (!packages_dir_.empty()) ChildProcess({"rm", "-rf", packages_dir_}).wait_exit(60s);
  }

  static std::string environment_source_root() { return source_path("."); }

  void SetUp() override {
    if (first_.folder.empty()) GTEST_SKIP() << "no packages were built (see the suite's set-up failure)";
    box_ = std::make_unique<Box>();
  }

  void install(const BuiltPackage& package) const { install_deb(package.deb()); }

  void install_deb(const std::string& deb) const {
    const auto inside = "/tmp/" + deb.substr(deb.rfind('/') + 1);
    box_->install(deb, inside);
    box_->must("DEBIAN_FRONTEND=noninteractive apt-get install -y -q " + inside, 300s);
  }

  std::string state(const std::string& verb, const std::string& unit) const {
    auto text = box_->run("systemctl " + verb + " " + unit).output;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }

  std::string get(const std::string& path) const {
    return box_->must("curl -s --max-time 20 http://127.0.0.1:3000" + path);
  }

  // docs/apps.md's path for one app example, from the installed package with its own
  // units (hang_timeout 2 s for the test); see the tests below.
  void run_app_example(const std::string& name, const std::string& file, const std::string& interpreter, int port);

  static inline std::string packages_dir_;
  static inline BuiltPackage first_;
  static inline BuiltPackage second_;
  std::unique_ptr<Box> box_;
};

TEST_F(DebianPackage, LintianReportsNoErrorsOrWarnings) {
  ChildProcess process({"lintian", "--fail-on", "error,warning", first_.changes()});
  const auto status = process.wait_exit(300s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << process.output();
  EXPECT_FALSE(std::regex_search(process.output(), std::regex("^[EW]: ", std::regex::multiline))) << process.output();
}

TEST_F(DebianPackage, InstallEnablesAndStartsOnlyTheSocket) {
  install(first_);
  EXPECT_EQ(state("is-enabled", "corral.socket"), "enabled");
  EXPECT_EQ(state("is-active", "corral.socket"), "active");
  EXPECT_EQ(state("is-active", "corral.service"), "inactive") << "the first connection starts it";
  EXPECT_TRUE(std::regex_match(get("/"), std::regex(R"(I am worker, pid:\d+, ppid:\d+)")));
  EXPECT_EQ(state("is-active", "corral.service"), "active");
  const auto status = box_->run("systemctl status corral --no-pager");
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("corral: supervisor"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("workers ready"), std::string::npos) << status.output;
  EXPECT_NE(box_->must("journalctl -u corral --no-pager").find("supervisor started"), std::string::npos);
  EXPECT_NE(box_->must("MANPAGER=cat man corral").find("socket-activated prefork HTTP service"), std::string::npos);
  EXPECT_NE(box_->must("ls /usr/share/doc/corral").find("operations.md"), std::string::npos);
  const auto user = box_->must("ps -o user= -p $(systemctl show -p MainPID --value corral)");
  EXPECT_EQ(user.find("root"), std::string::npos) << "DynamicUser=yes: " << user;
}

TEST_F(DebianPackage, UpgradeUnderLoadRefusesNothingAndKeepsAnUnchangedConffile) {
  install(first_);
  get("/");
  const auto old_main = box_->must("systemctl show -p MainPID --value corral");
  BoxClientLoop load(*box_);

  install(second_);
  const auto started = box_->must("journalctl -u corral --no-pager -o cat");
  EXPECT_NE(started.find("(corral " + second_.version + ")"), std::string::npos) << started;
  get("/");
  const auto tally = load.finish();
  EXPECT_GT(tally.answered, 10);
  EXPECT_EQ(tally.failed, 0) << load.output();
  EXPECT_NE(box_->must("systemctl show -p MainPID --value corral"), old_main) << "the service moved to the new binary";
  EXPECT_NE(box_->must("corral --version").find(second_.version), std::string::npos);
  EXPECT_EQ(box_->run("ls /etc/corral/corral.toml.dpkg-old /etc/corral/corral.toml.dpkg-dist").exit_code, 2)
      << "an unchanged conffile is replaced silently";
  EXPECT_EQ(state("is-active", "corral.socket"), "active");
}

TEST_F(DebianPackage, ChangedConffileSurvivesAnUpgrade) {
  install(first_);
  // At the top: the shipped file ends inside its [http] table.
  box_->must("sed -i '1i workers = 1' /etc/corral/corral.toml");
  install(second_);
  EXPECT_TRUE(box_->must("cat /etc/corral/corral.toml").starts_with("workers = 1\n"));
  get("/");
  EXPECT_NE(box_->must("systemctl show -p StatusText --value corral").find("1/1 workers ready"), std::string::npos);
}

TEST_F(DebianPackage, RemoveStopsEverythingAndPurgeLeavesNothing) {
  install(first_);
  get("/");
  ASSERT_EQ(box_->run("test -d /var/lib/private/corral").exit_code, 0) << "StateDirectory= was created";
  box_->must("DEBIAN_FRONTEND=noninteractive apt-get remove -y -q corral", 300s);
  EXPECT_NE(box_->run("pgrep -f '^corral: '").exit_code, 0) << box_->run("ps -ef").output;
  EXPECT_EQ(box_->run("curl -s --max-time 5 http://127.0.0.1:3000/").exit_code, 7) << "port 3000 still open";
  EXPECT_EQ(box_->run("test -e /etc/corral/corral.toml").exit_code, 0) << "remove keeps the configuration";

  box_->must("DEBIAN_FRONTEND=noninteractive apt-get purge -y -q corral", 300s);
  EXPECT_NE(box_->run("test -e /etc/corral").exit_code, 0);
  EXPECT_NE(box_->run("test -e /var/lib/corral").exit_code, 0);
  EXPECT_NE(box_->run("test -e /var/lib/private/corral").exit_code, 0);
}

// docs/library.md's path: the example service, built in the box against the installed
// libcorral-dev (with meson and with one g++ line), installed with its own units and
// started by its socket.
TEST_F(DebianPackage, ExampleServiceBuildsAgainstTheDevPackageAndRunsUnderItsSocket) {
  install_deb(first_.dev_deb());
  EXPECT_EQ(box_->must("pkg-config --modversion corral"), first_.version + "\n");
  EXPECT_NE(box_->must("ls /usr/share/doc/libcorral-dev").find("library.md"), std::string::npos);
  box_->must("cp -r /usr/share/doc/libcorral-dev/examples/hello /tmp/hello");
  box_->must("cd /tmp/hello && g++ -std=c++20 -O2 hello.cpp $(pkg-config --cflags --libs corral) -o hello-gxx && "
             "./hello-gxx --version",
             600s);
  box_->must("cd /tmp/hello && meson setup build >/dev/null && meson compile -C build && meson install -C build", 600s);
  box_->must("systemctl daemon-reload && systemctl enable --now hello.socket");
  EXPECT_EQ(box_->run("systemctl is-active hello.service").output, "inactive\n") << "the first connection starts it";

  EXPECT_EQ(box_->must("curl -s --max-time 20 http://127.0.0.1:8080/users/Ada"), "Hello, Ada\n");
  const auto login = box_->must("curl -s -i --max-time 20 -d name=Ada http://127.0.0.1:8080/login");
  EXPECT_NE(login.find("logged in as Ada"), std::string::npos) << login;
  std::smatch cookie;
  ASSERT_TRUE(std::regex_search(login, cookie, std::regex(R"(Set-Cookie: name=(\d+); Path=/; Max-Age=86400; HttpOnly; SameSite=Lax)")))
      << login;
  EXPECT_EQ(box_->must("curl -s --max-time 20 -b name=" + cookie[1].str() + " http://127.0.0.1:8080/whoami"),
            "{\"id\":\"" + cookie[1].str() + "\"}");
  EXPECT_EQ(box_->must("curl -s -o /dev/null -w '%{http_code}' --max-time 20 http://127.0.0.1:8080/whoami"), "401");
  EXPECT_EQ(box_->must("curl -s --max-time 20 http://127.0.0.1:8080/slow"), "sorry for the wait\n");

  const auto status = box_->must("systemctl status hello --no-pager");
  EXPECT_NE(status.find("hello: supervisor"), std::string::npos) << status;
  EXPECT_NE(status.find("workers ready"), std::string::npos) << status;
  EXPECT_NE(box_->must("journalctl -u hello --no-pager").find("(hello on corral " + first_.version + ")"),
            std::string::npos);
  box_->must("systemctl reload hello");
  EXPECT_EQ(box_->must("curl -s --max-time 20 http://127.0.0.1:8080/"), "Hello, world\n");
}

// Seconds of the day from a journal line in -o short-precise ("Dec 07 01:30:00.123456").
double journal_seconds(const std::string& line) {
  std::smatch match;
  if (!std::regex_search(line, match, std::regex(R"((\d\d):(\d\d):(\d\d)\.(\d{6}))"))) return -1;
  return std::stoi(match[1]) * 3600.0 + std::stoi(match[2]) * 60.0 + std::stoi(match[3]) +
         std::stoi(match[4]) / 1e6;
}

void DebianPackage::run_app_example(const std::string& name, const std::string& file, const std::string& interpreter,
                                    int port) {
  install(first_);
  const auto unit = "corral-" + name;
  const auto shipped = "/usr/share/doc/corral/examples/" + name + "/";
  // As its README says: the program to /opt, the units to /etc/systemd/system.
  box_->must("for f in " + file + " " + unit + ".socket " + unit + ".service README.md; do s=" + shipped +
             "$f; [ -e $s ] || s=$s.gz; zcat -f $s > /tmp/$f; done");
  box_->must("install -D -m 644 /tmp/" + file + " /opt/" + unit + "/" + file + " && install -m 644 /tmp/" + unit +
             ".socket /tmp/" + unit + ".service /etc/systemd/system/");
  box_->must("mkdir -p /etc/systemd/system/" + unit + ".service.d && printf '[Service]\\nExecStart=\\nExecStart=" +
             "/usr/bin/corral --workers 2 --hang-timeout 2 -- " + interpreter + " /opt/" + unit + "/" + file +
             "\\n' > /etc/systemd/system/" + unit + ".service.d/test.conf");
  box_->must("systemctl daemon-reload && systemctl enable --now " + unit + ".socket");
  const auto url = "http://127.0.0.1:" + std::to_string(port) + "/";
  const auto main_pid = [&] {
    auto pid = box_->must("systemctl show -p MainPID --value " + unit);
    return pid.substr(0, pid.find('\n'));
  };

  // Every worker answers, each a child of the supervisor that systemd started.
  std::set<std::string> workers;
  for (int i = 0; i < 60 && workers.size() < 2; ++i) {
    const auto body = box_->must("curl -s --max-time 20 " + url);
    std::smatch match;
    ASSERT_TRUE(std::regex_match(body, match, std::regex(R"(I am worker, pid:(\d+), ppid:(\d+))"))) << body;
    EXPECT_EQ(match[2].str(), main_pid());
    workers.insert(match[1]);
  }
  ASSERT_EQ(workers.size(), 2u);
  const auto status = box_->must("corral status --control-socket /run/" + unit + "/control.sock");
  EXPECT_NE(status.find("2/2 workers ready · app " + interpreter), std::string::npos) << status;

  auto journal = box_->follow_journal("-u " + unit + " -o short-precise");
  // Under load, the notice and a reload lose no request. (A worker killed or stopped
  // mid-request does lose that one: those two come without load.)
  std::optional<BoxClientLoop> load(std::in_place, *box_, url);
  // The suicide notice: the replacement is ready while the old worker drains.
  box_->must("curl -s --max-time 20 " + url + "crash");
  // Whole lines (from ^): their times and pids are read below.
  const auto notice = journal->wait_for_line(std::regex("^.* sent a suicide notice: .*starting its replacement now"), 20s);
  ASSERT_TRUE(notice) << journal->output();
  const auto ready = journal->wait_for_line(std::regex("^.*worker \\d+ ready: pid \\d+.*"), 20s);
  ASSERT_TRUE(ready) << journal->output();
  auto tally = load->finish();
  EXPECT_GT(tally.answered, 0);
  EXPECT_EQ(tally.failed, 0) << load->output() << journal->output();
  const auto notice_to_ready_ms =
      std::lround((journal_seconds(ready->at(0)) - journal_seconds(notice->at(0))) * 1000);
  RecordProperty("notice_to_ready_ms", std::to_string(notice_to_ready_ms));
  std::cout << unit << ": suicide notice to the replacement's READY=1: " << notice_to_ready_ms << " ms\n";
  // A killed worker is replaced.
  const auto alive = box_->must("pgrep -P " + main_pid());
  const auto first_alive = alive.substr(0, alive.find('\n'));
  box_->must("kill -KILL " + first_alive);
  ASSERT_TRUE(journal->wait_for_line(
      std::regex("\\(pid " + first_alive + ", generation \\d+\\) was killed by SIGKILL without a suicide notice"), 20s))
      << journal->output();
  ASSERT_TRUE(journal->wait_for_line(std::regex("worker \\d+ ready: pid \\d+"), 20s)) << journal->output();
  // A hung worker (stopped: no more WATCHDOG=1) is aborted within hang_timeout, then
  // killed, and replaced.
  const auto running = box_->must("pgrep -P " + main_pid());
  const auto hung = running.substr(0, running.find('\n'));
  box_->must("kill -STOP " + hung);
  ASSERT_TRUE(journal->wait_for_line(std::regex("\\(pid " + hung + "\\) has sent nothing for 2 s: sending SIGABRT"),
                                     20s))
      << journal->output();
  ASSERT_TRUE(journal->wait_for_line(std::regex("\\(pid " + hung + ", generation \\d+\\) was killed by SIGKILL"), 20s))
      << journal->output();
  ASSERT_TRUE(journal->wait_for_line(std::regex("worker \\d+ ready: pid \\d+"), 20s)) << journal->output();
  // A reload replaces every worker.
  load.emplace(*box_, url);
  box_->must("systemctl reload " + unit);
  ASSERT_TRUE(journal->wait_for_line(std::regex("reload complete"), 30s)) << journal->output();
  tally = load->finish();
  EXPECT_GT(tally.answered, 0);
  EXPECT_EQ(tally.failed, 0) << load->output() << journal->output();

  // The workers' own lines are in the journal under their own pids.
  const auto notice_pid = [&] {
    std::smatch match;
    std::regex_search(notice->at(0), match, std::regex(R"(\(pid (\d+)\))"));
    return match[1].str();
  }();
  const auto own_lines = box_->must("journalctl -u " + unit + " --no-pager -o cat _PID=" + notice_pid);
  EXPECT_FALSE(own_lines.empty()) << "nothing under the crashed worker's pid " << notice_pid;

  // Stop drains every worker; a killed supervisor leaves no worker behind.
  box_->must("curl -s --max-time 20 " + url);
  box_->must("systemctl stop " + unit);
  ASSERT_TRUE(journal->wait_for_line(std::regex("exited with code 0 after stop"), 30s)) << journal->output();
  EXPECT_EQ(box_->run("systemctl is-active " + unit).output, "inactive\n");
  box_->must("curl -s --max-time 20 " + url);  // the socket starts it again
  const auto supervisor = main_pid();
  const auto children = box_->must("pgrep -P " + supervisor);
  box_->must("kill -KILL " + supervisor);
  std::istringstream pids(children);
  for (std::string pid; std::getline(pids, pid);) {
    EXPECT_EQ(box_->run("timeout 10 sh -c 'while kill -0 " + pid + " 2>/dev/null; do sleep 0.1; done'").exit_code, 0)
        << "worker " << pid << " outlived its supervisor";
  }
}

TEST_F(DebianPackage, ThePythonAppExampleRunsUnderItsUnitsWithTheWholeModel) {
  run_app_example("python", "app.py", "/usr/bin/python3", 8081);
}

TEST_F(DebianPackage, TheSeedsNodeProgramRunsUnderItsUnitsWithTheWholeModel) {
  run_app_example("node-seed", "server.js", "/usr/bin/node", 8082);
}

}  // namespace
}  // namespace corral::test
