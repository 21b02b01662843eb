// The fault suite: each fault under steady load, with what the clients saw and how long
// the pool took to recover. The figures go to a Markdown table (CORRAL_FAULT_REPORT),
// copied into docs/reliability.md.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"
#include "support/load_generator.hpp"

namespace corral::test {
namespace {

struct ReportRow {
  std::string fault, load, requests, failures, recovery;
};
std::vector<ReportRow> report;

std::string describe(const LoadStats& stats) {
  std::ostringstream text;
  text << stats.requests << " in " << static_cast<int>(stats.seconds + 0.5) << " s ("
       << static_cast<long>(static_cast<double>(stats.succeeded) / stats.seconds) << " ok/s)";
  return text.str();
}

std::string failures_of(const LoadStats& stats) {
  std::ostringstream text;
  text << stats.failed << " failed, " << stats.refused << " refused";
  if (stats.retried > 0) text << ", " << stats.retried << " idle keep-alive closes retried";
  return text.str();
}

// For every line matching `event` (its group 1 is a slot), the time until the next
// "worker <slot> ready" line.
std::vector<long> times_to_ready(const std::string& log, const std::regex& event) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::vector<long> times;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch match;
    if (!std::regex_search(lines[i], match, event)) continue;
    const std::string ready = "supervisor: worker " + match[1].str() + " ready: pid";
    for (std::size_t j = i + 1; j < lines.size(); ++j) {
      if (lines[j].find(ready) != std::string::npos) {
        times.push_back(log_time_ms(lines[j]) - log_time_ms(lines[i]));
        break;
      }
    }
  }
  return times;
}

long median(std::vector<long> values) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

TEST(Fault, KillingARandomWorkerEvery200MsRefusesNothing) {
  // A hundred kills in 20 s: over the default budget of 60 a minute, so it is raised.
  auto corral = CorralInstance::start({"--restart-limit", "1000"}, 2);
  LoadGenerator load(corral->port, "/", 4, 2);
  std::mt19937 random(12345);
  int kills = 0;
  const auto end = std::chrono::steady_clock::now() + 20s;
  std::size_t last_kill_mark = 0;
  while (std::chrono::steady_clock::now() < end) {
    const auto workers = corral->workers();
    if (!workers.empty()) {
      last_kill_mark = corral->mark();
      ::kill(workers[std::uniform_int_distribution<std::size_t>(0, workers.size() - 1)(random)], SIGKILL);
      ++kills;
    }
    std::this_thread::sleep_for(200ms);  // the fault's rate, not a wait for an event
  }
  corral->wait_worker_ready(last_kill_mark);
  const auto stats = load.stop();
  ASSERT_TRUE(corral->notify.wait_for("2/2 workers ready", 10s));

  const auto recovery = times_to_ready(corral->process->output(),
                                       std::regex(R"(worker (\d+) \(pid \d+, generation \d+\) was killed by SIGKILL)"));
  EXPECT_EQ(stats.refused, 0u);
  // Only requests in flight on the killed worker may fail: at most one per client.
  EXPECT_LE(stats.failed, static_cast<std::uint64_t>(kills) * 6);
  EXPECT_GT(stats.succeeded, 1000u);
  std::ostringstream failures;
  failures << failures_of(stats) << "; " << kills << " kills, "
           << static_cast<double>(stats.failed) / kills << " failed per kill";
  report.push_back({"SIGKILL a random worker every 200 ms for 20 s (2 workers, restart_limit 1000)",
                    "4 keep-alive + 2 new-connection clients, GET /", describe(stats), failures.str(),
                    "pool back to 2; median exit → replacement Ready " + std::to_string(median(recovery)) + " ms"});
}

TEST(Fault, EveryRequestCrashesItsWorkerAndEveryRequestIsAnswered) {
  auto corral = CorralInstance::start({"--enable-debug-routes", "--restart-limit", "100000"}, 2);
  LoadGenerator load(corral->port, "/debug/throw", 0, 4);
  const auto mark = corral->mark();
  // Ten seconds of the seed's demo at full rate.
  EXPECT_FALSE(corral->process->wait_for_line(std::regex("supervisor failed|restart budget spent"), 10s, mark));
  const auto stats = load.stop();
  ASSERT_TRUE(corral->notify.wait_for("2/2 workers ready", 10s));

  const auto recovery = times_to_ready(corral->process->output(),
                                       std::regex(R"(supervisor: worker (\d+) \(pid \d+\) sent a suicide notice)"));
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_EQ(stats.refused, 0u);
  EXPECT_GT(stats.succeeded, 100u);
  report.push_back({"every request crashes its worker (/debug/throw, the seed's demo; 2 workers, restart_limit 100000)",
                    "4 new-connection clients", describe(stats), failures_of(stats),
                    std::to_string(recovery.size()) + " suicides; median notice → replacement Ready " +
                        std::to_string(median(recovery)) + " ms"});
}

TEST(Fault, HungWorkerIsReplacedWhileTheOtherServes) {
  auto corral = CorralInstance::start({"--enable-debug-routes", "--hang-timeout", "2"}, 2);
  LoadGenerator load(corral->port, "/", 2, 2);
  const auto mark = corral->mark();
  RawConnection hang(corral->port);
  hang.send("GET /debug/hang HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto hung = corral->process->wait_for_line(std::regex(R"(\[(\d+)\] worker (\d+): /debug/hang)"), 5s, mark);
  ASSERT_TRUE(hung);
  const auto during = load.succeeded();
  const auto aborted = corral->process->wait_for_line(
      std::regex("worker " + hung->at(2) + R"( \(pid )" + hung->at(1) + R"(\) has sent nothing for 2 s)"), 10s, mark);
  ASSERT_TRUE(aborted) << corral->process->output();
  EXPECT_GT(load.succeeded(), during) << "the other worker kept serving";
  corral->wait_worker_ready(mark);
  const auto stats = load.stop();

  const auto recovery = times_to_ready(corral->process->output(), std::regex(R"(worker (\d+): /debug/hang: blocking)"));
  ASSERT_EQ(recovery.size(), 1u);
  EXPECT_LE(recovery[0], 2000 + 5000 + 1000) << "hang timeout + SIGKILL grace + a heartbeat";
  EXPECT_EQ(stats.refused, 0u);
  EXPECT_LE(stats.failed, 4u) << "only requests stuck behind the hung worker";
  report.push_back({"/debug/hang blocks one worker's loop (hang_timeout 2 s; 2 workers)",
                    "2 keep-alive + 2 new-connection clients, GET /", describe(stats), failures_of(stats),
                    "SIGABRT at 2 s; hang → replacement Ready " + std::to_string(recovery[0]) + " ms"});
}

TEST(Fault, CrashLoopAtStartBacksOffAndGivesUp) {
  ChildProcess corral({corral_binary(), "--listen", "127.0.0.1:0", "--workers", "2", "--enable-debug-routes",
                       "--debug-fail-start", "--restart-limit", "10", "--terminal-timeout", "3"});
  const auto started = std::chrono::steady_clock::now();
  const auto status = corral.wait_exit(60s);
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(status) << corral.output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << corral.output();

  std::map<std::string, std::vector<long>> starts;  // per slot
  std::istringstream in(corral.output());
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (std::regex_search(line, match, std::regex(R"(supervisor: worker (\d+) started)"))) {
      starts[match[1]].push_back(log_time_ms(line));
    }
  }
  std::ostringstream gaps;
  for (std::size_t i = 1; i < starts["0"].size(); ++i) {
    gaps << (i > 1 ? ", " : "") << starts["0"][i] - starts["0"][i - 1];
  }
  int total_starts = 0;
  for (const auto& [slot, times] : starts) total_starts += static_cast<int>(times.size());
  EXPECT_LE(total_starts, 2 + 10) << "the restart budget bounds the starts";
  EXPECT_LT(corral.cpu_seconds_at_exit(), 0.5) << "the supervisor waits, it does not spin";
  std::ostringstream recovery;
  recovery << "exit 1 after " << static_cast<int>(elapsed * 10) / 10.0 << " s (terminal_timeout 3 s); slot 0 starts "
           << gaps.str() << " ms apart; supervisor CPU " << static_cast<int>(corral.cpu_seconds_at_exit() * 1000)
           << " ms";
  report.push_back({"every worker fails at start (--debug-fail-start; restart_limit 10; 2 workers)", "none",
                    std::to_string(total_starts) + " starts", "–", recovery.str()});
}

class ReportWriter : public ::testing::Environment {
 public:
  void TearDown() override {
    std::ostringstream table;
    table << "| fault | load | requests | failures | recovery |\n|---|---|---|---|---|\n";
    for (const auto& row : report) {
      table << "| " << row.fault << " | " << row.load << " | " << row.requests << " | " << row.failures << " | "
            << row.recovery << " |\n";
    }
    std::cout << "\n" << table.str();
    if (const char* path = std::getenv("CORRAL_FAULT_REPORT")) std::ofstream(path) << table.str();
  }
};

const auto* const report_writer = ::testing::AddGlobalTestEnvironment(new ReportWriter);

}  // namespace
}  // namespace corral::test
