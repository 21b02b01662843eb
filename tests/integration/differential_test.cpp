// Differential check (issue 11): for every framing case, corral and nginx (Debian's
// nginx-light) must agree on how many requests the bytes hold and where each ends, so
// a proxy in front of corral that frames like nginx can never smuggle a request past
// it. Both answer each request with its method and path; what is compared is the list
// of requests served, in order. Where their status codes differ for a refused request
// (nginx says 501 for `chunked, chunked`, corral 400, as RFC 9112 §6.1 asks), neither
// serves it: docs/reliability.md lists those cases.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/corral_instance.hpp"
#include "support/http_client.hpp"

namespace corral::test {
namespace {

struct FramingCase {
  const char* name;
  std::string bytes;
};

// Every request ends with a `GET /r/end` with Connection: close, so each server closes
// once it has read all the requests it found.
const std::string last = "GET /r/end HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

std::vector<FramingCase> framing_cases() {
  return {
      {"plain pipelined", "GET /r/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /r/2 HTTP/1.1\r\nHost: a\r\n\r\n" + last},
      {"content-length body", "POST /r/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" + last},
      {"chunked body", "POST /r/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + last},
      {"chunk extensions and trailer",
       "POST /r/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX: y\r\n\r\n" + last},
      {"body that looks like a request", "POST /r/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 35\r\n\r\n"
                                         "GET /r/hidden HTTP/1.1\r\nHost: a\r\n\r\n" + last},
      {"xchunked with content-length", "POST /r/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n"
                                       "Content-Length: 37\r\n\r\nGET /r/smuggled HTTP/1.1\r\nHost: a\r\n\r\n" + last},
      {"chunked, identity", "POST /r/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                            "GET /r/smuggled HTTP/1.1\r\nHost: a\r\n\r\n" + last},
      {"chunked, chunked", "POST /r/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"
                           "GET /r/smuggled HTTP/1.1\r\nHost: a\r\n\r\n" + last},
      {"gzip, chunked", "POST /r/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + last},
      {"content-length and chunked", "POST /r/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /r/smuggled HTTP/1.1\r\nHost: a\r\n\r\n" +
                                         last},
      {"two content-lengths", "POST /r/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!" +
                                  last},
      {"http/1.0 keep-alive with chunked", "POST /r/1 HTTP/1.0\r\nConnection: keep-alive\r\n"
                                           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + last},
      {"http/1.0 then more", "GET /r/1 HTTP/1.0\r\n\r\n" + last},
      {"absolute form", "GET http://a/r/1 HTTP/1.1\r\nHost: a\r\n\r\n" + last},
      {"negative content-length", "POST /r/1 HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n" + last},
      {"chunk size overflow", "POST /r/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "ffffffffffffffffff\r\n" + last},
  };
}

// What one server made of the bytes: the requests it served ("GET /r/1"), in order,
// then "closed" if it closed without serving the final request.
std::vector<std::string> served(std::uint16_t port, const std::string& bytes) {
  RawConnection connection(port);
  connection.send(bytes);
  std::vector<std::string> answers;
  while (auto response = connection.read_response(3s)) {
    if (response->status / 100 == 2) {
      auto body = response->body;
      while (!body.empty() && body.back() == '\n') body.pop_back();
      answers.push_back(body);
    }
  }
  return answers;
}

class Differential : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/sbin/nginx", X_OK) != 0) GTEST_SKIP() << "nginx-light is not installed (debian/control)";
    char directory[] = "/tmp/corral-nginx-XXXXXX";
    ASSERT_NE(::mkdtemp(directory), nullptr);
    directory_ = directory;
    nginx_port_ = pick_free_port();
    std::ofstream(directory_ + "/nginx.conf")
        << "worker_processes 1;\ndaemon off;\npid " << directory_ << "/nginx.pid;\nerror_log " << directory_
        << "/error.log;\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path " << directory_
        << ";\n  server {\n    listen 127.0.0.1:" << nginx_port_
        << ";\n    location /r/ { return 200 \"$request_method $uri\\n\"; }\n  }\n}\n";
    nginx_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/sbin/nginx", "-e", directory_ + "/error.log", "-c", directory_ + "/nginx.conf"});
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    const auto answers = [this] {
      try {
        return http_request(nginx_port_, "GET", "/r/ping", 200ms).has_value();
      } catch (const ConnectError&) {
        return false;  // not listening yet
      }
    };
    while (!answers()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "nginx did not start: " << nginx_->output();
      nginx_->wait_exit(20ms);
    }
    corral_ = CorralInstance::start_binary(test_service_binary(), {}, 1);
  }
  void TearDown() override {
    if (nginx_) {
      ::kill(nginx_->pid(), SIGQUIT);
      nginx_->wait_exit(10s);
    }
    if (!directory_.empty()) ChildProcess({"rm", "-rf", directory_}).wait_exit(10s);
  }

  std::string directory_;
  std::uint16_t nginx_port_ = 0;
  std::unique_ptr<ChildProcess> nginx_;
  std::unique_ptr<CorralInstance> corral_;
};

TEST_F(Differential, CorralAndNginxFindTheSameRequestsInTheSameBytes) {
  for (const auto& framing : framing_cases()) {
    const auto by_nginx = served(nginx_port_, framing.bytes);
    const auto by_corral = served(corral_->port, framing.bytes);
    EXPECT_EQ(by_corral, by_nginx) << framing.name;
    for (const auto& request : by_corral) {
      EXPECT_EQ(request.find("smuggled"), std::string::npos) << framing.name;
      EXPECT_EQ(request.find("hidden"), std::string::npos) << framing.name;
    }
  }
}

}  // namespace
}  // namespace corral::test
