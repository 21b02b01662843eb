// The Debian package, in a fresh systemd box for each test: install, upgrade under
// load, conffile handling, remove and purge. The packages are built once per run by
// build_packages.sh from clean copies of the source tree.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <memory>
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

}  // namespace
}  // namespace corral::test
