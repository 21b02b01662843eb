// A service built on the public API (tests/service/test_service.cpp), run as a user
// would run theirs: its own binary, its own settings, corral's process model.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"

namespace corral::test {
namespace {

class ServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    service_ = CorralInstance::start_binary(test_service_binary(), {"--app-greeting", "moin", "--app-loud"}, 2);
  }
  static void TearDownTestSuite() { service_.reset(); }
  static std::uint16_t port() { return service_->port; }
  static inline std::unique_ptr<CorralInstance> service_;
};

TEST_F(ServiceTest, EchoesAOneMebibyteChunkedBody) {
  std::string body;
  for (int i = 0; body.size() < 1024 * 1024 - 100; ++i) body += std::to_string(i) + ",";
  RawConnection connection(port());
  connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (std::size_t at = 0; at < body.size(); at += 7000) {
    const auto piece = body.substr(at, 7000);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    connection.send(std::string(size) + piece + "\r\n");
  }
  connection.send("0\r\n\r\n");
  const auto response = connection.read_response(10s);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("content-type"), "application/octet-stream");
  EXPECT_EQ(response->body.size(), body.size());
  EXPECT_TRUE(response->body == body);
}

TEST_F(ServiceTest, ReadsACookieAndSetsOne) {
  RawConnection connection(port());
  connection.send("GET /cookie HTTP/1.1\r\nHost: x\r\nCookie: theme=dark; sid=s3cr3t\r\n\r\n");
  const auto with = connection.read_response(5s);
  ASSERT_TRUE(with);
  EXPECT_EQ(with->status, 200);
  EXPECT_EQ(with->body, "s3cr3t");
  connection.send("GET /cookie HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto without = connection.read_response(5s);
  ASSERT_TRUE(without);
  EXPECT_EQ(without->status, 401) << "ClientError answers and the connection stays open";

  connection.send("POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                  "Content-Length: 14\r\n\r\nuser=J%C3%BCrg");
  const auto login = connection.read_response(5s);
  ASSERT_TRUE(login);
  EXPECT_EQ(login->body, "welcome J\u00fcrg");
  EXPECT_EQ(login->header("set-cookie"), "sid=user-5; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax");
}

TEST_F(ServiceTest, ExpectContinueGets100ThenTheAnswer) {
  RawConnection connection(port());
  connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  const auto interim = connection.read_response(2s);
  ASSERT_TRUE(interim) << "the client waits for 100 Continue before sending the body";
  EXPECT_EQ(interim->status, 100);
  connection.send("hello");
  const auto answer = connection.read_response(2s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "hello");
}

TEST_F(ServiceTest, PathParametersRepeatedHeadersAndThePeer) {
  const auto user = http_request(port(), "GET", "/users/a%20b");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->body, R"({"id":"a b"})");
  EXPECT_EQ(user->header("content-type"), "application/json");

  RawConnection connection(port());
  connection.send("GET /headers?name=X-TAG HTTP/1.1\r\nHost: x\r\nx-tag: one\r\nX-Tag: two\r\n\r\n");
  const auto headers = connection.read_response(5s);
  ASSERT_TRUE(headers);
  EXPECT_EQ(headers->body, "one;two;");

  const auto peer = http_request(port(), "GET", "/peer");
  ASSERT_TRUE(peer);
  EXPECT_TRUE(std::regex_match(peer->body, std::regex(R"(127\.0\.0\.1 \d+)"))) << peer->body;
}

TEST_F(ServiceTest, DeferredAnswersDoNotHoldTheWorker) {
  // Two workers, four slow requests: all four are answered in about one delay, not four.
  std::vector<std::unique_ptr<RawConnection>> slow;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    slow.push_back(std::make_unique<RawConnection>(port()));
    slow.back()->send("GET /later?ms=800 HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  const auto quick = http_request(port(), "GET", "/users/1", 700ms);
  ASSERT_TRUE(quick) << "a worker with deferred answers keeps serving";
  for (auto& connection : slow) {
    const auto answer = connection->read_response(5s);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->body, "later 800");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2500ms);
}

TEST_F(ServiceTest, ServiceSettingsComeFromFlagsFilesAndHelp) {
  const auto greeting = http_request(port(), "GET", "/greeting");
  ASSERT_TRUE(greeting);
  EXPECT_EQ(greeting->body, "MOIN") << "flags reach every worker";

  char path[] = "/tmp/corral-service-XXXXXX.toml";
  const int fd = ::mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "workers = 1\n[app]\ngreeting = \"servus\"\nlimit = 9\n";
  auto from_file = CorralInstance::start_binary(test_service_binary(), {"--config", path}, 0);
  EXPECT_EQ(http_request(from_file->port, "GET", "/greeting")->body, "servus");
  EXPECT_EQ(http_request(from_file->port, "GET", "/limit")->body, "9");
  from_file.reset();

  std::ofstream(path) << "[app]\nlimit = 11\n";
  ChildProcess check({test_service_binary(), "--check-config", path});
  const auto status = check.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_NE(check.output().find(std::string(path) + ":2: app.limit: must be a whole number from 1 to 10"),
            std::string::npos)
      << check.output();
  ::unlink(path);

  ChildProcess help({test_service_binary(), "--help"});
  ASSERT_TRUE(help.wait_exit(10s));
  EXPECT_NE(help.output().find("--app-greeting"), std::string::npos) << help.output();
  EXPECT_NE(help.output().find("what GET /greeting answers"), std::string::npos);
  EXPECT_NE(help.output().find("--drain-timeout"), std::string::npos) << "corral's own flags too";
}

TEST_F(ServiceTest, EveryMethodHelperRoutesAndDurationsAndLogsWork) {
  for (const auto* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    const auto response = http_request(port(), method, "/r/7");
    ASSERT_TRUE(response) << method;
    EXPECT_EQ(response->body, std::string(method) + " /r/7\n");
  }
  const auto mark = service_->mark();
  const auto paused = http_request(port(), "GET", "/pause");
  ASSERT_TRUE(paused);
  EXPECT_EQ(paused->status, 204);
  EXPECT_TRUE(service_->process->wait_for_line(std::regex("worker \\d+: pausing 50 ms"), 5s, mark))
      << "corral::log reaches the service's log, named after the worker";
}

TEST_F(ServiceTest, ProcessTitlesCarryTheServiceName) {
  std::ifstream cmdline("/proc/" + std::to_string(service_->supervisor_pid()) + "/cmdline");
  std::string title;
  std::getline(cmdline, title, '\0');
  EXPECT_EQ(title, "test-service: supervisor");
}

}  // namespace
}  // namespace corral::test
