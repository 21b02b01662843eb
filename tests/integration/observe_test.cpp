// Seeing a running pool: `corral status` over the control socket, GET /metrics and the
// access log, on the real binary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"
#include "support/load_generator.hpp"
#include "support/temp_dir.hpp"

namespace corral::test {
namespace {

nlohmann::json status_json(const std::string& socket) {
  const auto ran = run_to_exit({corral_binary(), "status", "--json", "--control-socket", socket});
  EXPECT_EQ(ran.exit_code, 0) << ran.output;
  return nlohmann::json::parse(ran.output);
}

std::string scrape(std::uint16_t port) {
  const auto response = http_request(port, "GET", "/metrics");
  if (!response || response->status != 200) throw std::runtime_error("GET /metrics failed");
  return response->body;
}

// The value of one sample line, like corral_http_requests_total{code="2xx"}.
double sample(const std::string& metrics, const std::string& series) {
  const auto at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) throw std::runtime_error("no " + series + " in:\n" + metrics);
  return std::stod(metrics.substr(at + series.size() + 2));
}

// promtool's verdict on a scrape: empty when it is clean.
std::string promtool_problems(const std::string& metrics) {
  TempDir directory;
  std::ofstream(directory / "metrics.txt") << metrics;
  const auto command = "promtool check metrics < " + (directory / "metrics.txt") + " > " +
                       (directory / "report.txt") + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream report(directory / "report.txt");
  std::string text((std::istreambuf_iterator<char>(report)), std::istreambuf_iterator<char>());
  return status == 0 && text.empty() ? std::string() : "promtool: " + text;
}

TEST(Status, ShowsEveryWorkerAndAKilledWorkersSlotRestart) {
  TempDir directory;
  const auto socket = directory / "control.sock";
  auto corral = CorralInstance::start({"--control-socket", socket}, 2);
  auto before = status_json(socket);
  ASSERT_EQ(before["workers"].size(), 2u);
  EXPECT_EQ(before["mode"], "serving");
  EXPECT_EQ(before["pool_size"], 2);
  EXPECT_EQ(before["supervisor_pid"], corral->supervisor_pid());
  const int victim = before["workers"][0]["pid"];
  const unsigned slot = before["workers"][0]["slot"];
  EXPECT_EQ(before["workers"][0]["state"], "ready");
  EXPECT_EQ(before["workers"][0]["restarts"], 0);
  const auto mark = corral->mark();
  ::kill(victim, SIGKILL);
  const auto replacement = corral->wait_worker_ready(mark);
  const auto after = status_json(socket);
  bool found = false;
  for (const auto& worker : after["workers"]) {
    if (worker["slot"] != slot) continue;
    found = true;
    EXPECT_EQ(worker["pid"], replacement);
    EXPECT_EQ(worker["restarts"], 1);
    EXPECT_EQ(worker["generation"], 2);
    EXPECT_NE(worker["last_exit"].get<std::string>().find("SIGKILL"), std::string::npos) << worker.dump();
    EXPECT_GT(worker["rss_bytes"].get<std::uint64_t>(), 0u);
  }
  EXPECT_TRUE(found) << after.dump();
  // The table has a row per worker under a header naming the pool.
  const auto table = run_to_exit({corral_binary(), "status", "--control-socket", socket});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.output.find("2/2 workers ready"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find(std::to_string(replacement)), std::string::npos) << table.output;
}

// The supervisor answers from its own tables while the workers are saturated. How fast
// is measured by hand (docs/operations.md), not asserted here: timings belong to
// bench runs, and this also runs under ASan.
TEST(Status, AnswersUnderFullLoad) {
  TempDir directory;
  const auto socket = directory / "control.sock";
  auto corral = CorralInstance::start({"--control-socket", socket}, 2);
  LoadGenerator load(corral->port, "/", 32, 0);
  while (load.succeeded() < 1000) std::this_thread::yield();
  for (int i = 0; i < 20; ++i) {
    const auto status = status_json(socket);
    EXPECT_EQ(status["workers"].size(), 2u);
  }
  load.stop();
}

TEST(Status, SaysWhenCorralIsNotRunning) {
  const auto ran = run_to_exit({corral_binary(), "status", "--control-socket", "/nonexistent/control.sock"});
  EXPECT_EQ(ran.exit_code, 1);
  EXPECT_NE(ran.output.find("not running"), std::string::npos) << ran.output;
}

TEST(Status, TheControlSocketRefusesAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  TempDir directory;
  ::chmod(directory.path().c_str(), 0755);
  const auto socket = directory / "control.sock";
  auto corral = CorralInstance::start({"--control-socket", socket}, 1);
  struct stat status {};
  ASSERT_EQ(::stat(socket.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0600u);
  const auto refused = run_to_exit({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", corral_binary(), "status",
                            "--control-socket", socket});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("permission denied"), std::string::npos) << refused.output;
}

TEST(Status, GarbageAndOversizedCommandsGetErrorsAndTheSupervisorServesOn) {
  TempDir directory;
  const auto socket = directory / "control.sock";
  auto corral = CorralInstance::start({"--control-socket", socket}, 1);
  auto send_raw = [&](const std::string& bytes) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, socket.c_str());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    std::string answer;
    char buffer[4096];
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ssize_t got;
    while ((got = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
      answer.append(buffer, static_cast<std::size_t>(got));
      if (answer.find('\n') != std::string::npos && bytes.size() < 4096) break;
    }
    ::close(fd);
    return answer;
  };
  EXPECT_NE(send_raw("\x01\x02 not json\n").find("\"ok\":false"), std::string::npos);
  EXPECT_NE(send_raw("{\"version\": 9, \"command\": \"status\"}\n").find("version 1"), std::string::npos);
  EXPECT_NE(send_raw(std::string(100000, '{')).find("longer than 4096 bytes"), std::string::npos);
  EXPECT_EQ(status_json(socket)["mode"], "serving");
  EXPECT_EQ(http_request(corral->port, "GET", "/healthz")->status, 200);
}

TEST(Metrics, OneScrapeShowsThePoolAndPassesPromtoolUnderLoadAndAfterACrash) {
  const auto metrics_port = pick_free_port();
  auto corral = CorralInstance::start({"--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port),
                                       "--enable-debug-routes"},
                                      2);
  const auto first = scrape(metrics_port);
  EXPECT_EQ(sample(first, "corral_workers{state=\"ready\"}"), 2);
  EXPECT_EQ(sample(first, "corral_build_info{service=\"corral\",version=\"0.1.0\"}"), 1);
  {
    LoadGenerator load(corral->port, "/", 16, 0);
    while (load.succeeded() < 2000) std::this_thread::yield();
    EXPECT_EQ(promtool_problems(scrape(metrics_port)), "");
    load.stop();
  }
  for (int i = 0; i < 50; ++i) http_request(corral->port, "GET", "/nope");
  const auto before = scrape(metrics_port);
  const auto ok_before = sample(before, "corral_http_requests_total{code=\"2xx\"}");
  EXPECT_GE(ok_before, 2000);
  EXPECT_EQ(sample(before, "corral_http_requests_total{code=\"4xx\"}"), 50);
  // Workers killed outright: their counts stay in the pool's, and the kill is counted.
  for (const auto pid : corral->workers()) {
    const auto mark = corral->mark();
    ::kill(pid, SIGKILL);
    corral->wait_worker_ready(mark);
  }
  const auto after = scrape(metrics_port);
  EXPECT_GE(sample(after, "corral_http_requests_total{code=\"2xx\"}"), ok_before);
  EXPECT_EQ(sample(after, "corral_http_requests_total{code=\"4xx\"}"), 50);
  EXPECT_EQ(sample(after, "corral_worker_restarts_total{cause=\"signal\"}"), 2);
  EXPECT_GE(sample(after, "corral_worker_cpu_seconds_total{slot=\"0\"}"),
            sample(before, "corral_worker_cpu_seconds_total{slot=\"0\"}"));
  // A suicide notice is its own cause.
  http_request(corral->port, "GET", "/debug/throw");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (sample(scrape(metrics_port), "corral_worker_restarts_total{cause=\"suicide_notice\"}") < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  const auto last = scrape(metrics_port);
  EXPECT_EQ(sample(last, "corral_worker_restarts_total{cause=\"suicide_notice\"}"), 1);
  EXPECT_EQ(promtool_problems(last), "");
  // Only /metrics is there, and never on the public port.
  EXPECT_EQ(http_request(metrics_port, "GET", "/")->status, 404);
  EXPECT_EQ(http_request(corral->port, "GET", "/metrics")->status, 404);
}

TEST(AccessLog, WritesALinePerRequestUpToItsRate) {
  auto corral = CorralInstance::start({"--access-log", "--access-log-rate", "20"}, 1);
  const auto mark = corral->mark();
  ASSERT_EQ(http_request(corral->port, "GET", "/nope?x=1")->status, 404);
  const auto line = corral->process->wait_for_line(std::regex(R"(access: 127\.0\.0\.1 "GET /nope" 404 \d+ [\d.]+ ms)"),
                                                   5s, mark);
  EXPECT_TRUE(line) << corral->process->output();
  // A burst far over the rate: at most a burst's worth is written, the rest counted.
  const auto burst = corral->mark();
  for (int i = 0; i < 300; ++i) http_request(corral->port, "GET", "/");
  const auto dropped = corral->process->wait_for_line(std::regex(R"(access log: (\d+) entries over the limit)"), 5s,
                                                      burst);
  ASSERT_TRUE(dropped) << corral->process->output();
  EXPECT_GT(std::stoi(dropped->at(1)), 0);
  std::size_t written = 0;
  const auto output = corral->process->output();
  std::istringstream lines(output);
  std::string text;
  for (std::size_t index = 0; std::getline(lines, text); ++index) {
    if (index >= burst && text.find("access: 127.0.0.1 \"GET /\" 200") != std::string::npos) ++written;
  }
  EXPECT_GE(written, 15u) << output;  // the burst, less the token the first request took
  EXPECT_LE(written, 40u) << output;  // a burst of 20, plus what the rate refills meanwhile
}

}  // namespace
}  // namespace corral::test
