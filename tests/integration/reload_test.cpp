// SIGHUP: re-read the configuration file and replace workers one at a time, under load,
// without a failed request; a broken file changes nothing.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "integration/io_paths.hpp"
#include "support/corral_instance.hpp"
#include "support/http_client.hpp"
#include "support/load_generator.hpp"

namespace corral::test {
namespace {

// On epoll and on io_uring: a reload must drop nothing on either.
class Reload : public ::testing::TestWithParam<IoPath> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');  // "Case/IoUring"
    path_ = std::filesystem::temp_directory_path() /
            ("corral-reload-" + std::to_string(::getpid()) + "-" + name + ".toml");
    write("workers = 2\n");
    corral_ = CorralInstance::start({"--config", path_.string()}, /*workers: from the file*/ 0);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  void write(const std::string& text) {
    std::ofstream(path_, std::ios::trunc) << "io = \"" << io_setting(GetParam()) << "\"\n" << text;
  }
  // Lines write() puts before the text it is given.
  static int lines_before() { return 1; }

  // Sends SIGHUP and waits for the line that ends the reload; returns it.
  std::string reload(std::size_t mark) {
    corral_->process->signal(SIGHUP);
    const auto line = corral_->process->wait_for_line(std::regex("reload (complete|failed).*"), 20s, mark);
    if (!line) ADD_FAILURE() << "reload did not finish:\n" << corral_->process->output();
    return line ? line->at(0) : std::string{};
  }

  std::filesystem::path path_;
  std::unique_ptr<CorralInstance> corral_;
};

TEST_P(Reload, ReplacesEveryWorkerUnderLoadWithoutAFailedRequest) {
  const auto before = corral_->workers();
  ASSERT_EQ(http_request(corral_->port, "GET", "/debug/sleep?ms=1")->status, 404);
  write("workers = 2\nenable_debug_routes = true\n");

  LoadGenerator load(corral_->port, "/", 0, 1);
  const auto mark = corral_->mark();
  EXPECT_NE(reload(mark).find("reload complete"), std::string::npos);
  EXPECT_TRUE(corral_->notify.wait_for("RELOADING=1", 5s));
  EXPECT_TRUE(corral_->notify.wait_for("READY=1", 5s));
  for (const pid_t old : before) corral_->wait_worker_exited(old, mark);
  const auto served_during_reload = load.succeeded();
  // Keep the load on a little longer with the new workers alone.
  ASSERT_TRUE(http_request(corral_->port, "GET", "/healthz"));
  const auto stats = load.stop();

  EXPECT_EQ(stats.failed + stats.refused, 0u) << stats.first_failure << "\n" << corral_->process->output();
  EXPECT_GT(served_during_reload, 0u) << corral_->process->output();
  const auto after = corral_->workers();
  EXPECT_EQ(after.size(), 2u);
  for (const pid_t old : before) EXPECT_EQ(std::find(after.begin(), after.end(), old), after.end());
  const auto debug = http_request(corral_->port, "GET", "/debug/sleep?ms=1");
  ASSERT_TRUE(debug);
  EXPECT_EQ(debug->status, 200) << "the new configuration is in effect";
}

TEST_P(Reload, BrokenFileKeepsTheRunningConfiguration) {
  const auto before = corral_->workers();
  write("workers = 2\n\n[http]\nmax_body_bytes = \"lots\"\n");
  const auto line = reload(corral_->mark());
  EXPECT_NE(line.find("reload failed, still running the previous configuration: " + path_.string() +
                      ":" + std::to_string(4 + lines_before()) + ": http.max_body_bytes"),
            std::string::npos)
      << line;
  EXPECT_TRUE(corral_->notify.wait_for("reload failed", 5s));
  const auto response = http_request(corral_->port, "GET", "/healthz");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  auto after = corral_->workers();
  std::sort(after.begin(), after.end());
  auto sorted_before = before;
  std::sort(sorted_before.begin(), sorted_before.end());
  EXPECT_EQ(after, sorted_before) << "no worker was replaced";
}

TEST_P(Reload, GrowsAndShrinksThePool) {
  write("workers = 3\n");
  const auto two = corral_->workers();
  const auto grow = corral_->mark();
  EXPECT_NE(reload(grow).find("reload complete"), std::string::npos);
  EXPECT_TRUE(corral_->notify.wait_for("3/3 workers ready", 10s));
  for (const pid_t old : two) corral_->wait_worker_exited(old, grow);
  EXPECT_EQ(corral_->workers().size(), 3u);

  write("workers = 1\n");
  const auto three = corral_->workers();
  const auto mark = corral_->mark();
  EXPECT_NE(reload(mark).find("reload complete"), std::string::npos);
  EXPECT_TRUE(corral_->notify.wait_for("1/1 workers ready", 10s));
  for (const pid_t old : three) corral_->wait_worker_exited(old, mark);
  EXPECT_EQ(corral_->workers().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(IoPaths, Reload, ::testing::Values(IoPath::epoll, IoPath::io_uring), io_path_name);

}  // namespace
}  // namespace corral::test
