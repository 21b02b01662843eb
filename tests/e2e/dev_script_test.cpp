// The README's first command: ./dev serve builds (nothing to do here) and runs corral in
// the foreground. Run with a free port, as a developer could; the flags pass through.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <regex>

#include "box.hpp"
#include "support/child_process.hpp"
#include "support/http_client.hpp"

namespace corral::test {
namespace {

TEST(DevScript, ServeBuildsAndRunsCorralInTheForeground) {
  ChildProcess serve({source_path("dev"), "serve", "--listen", "127.0.0.1:0", "--workers", "1"},
                     {"CORRAL_BUILD_DIR=" + build_path("")});
  const auto started = serve.wait_for_line(std::regex(R"(supervisor started: 1 workers on 127\.0\.0\.1:(\d+))"), 120s);
  ASSERT_TRUE(started) << serve.output();
  ASSERT_TRUE(serve.wait_for_line(std::regex("all 1 workers ready"), 10s)) << serve.output();
  const auto response = http_request(static_cast<std::uint16_t>(std::stoi(started->at(1))), "GET", "/");
  ASSERT_TRUE(response);
  EXPECT_TRUE(response->body.starts_with("I am worker, pid:")) << response->body;
  serve.signal(SIGINT);  // Ctrl-C
  const auto status = serve.wait_exit(30s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << serve.output();
}

}  // namespace
}  // namespace corral::test
