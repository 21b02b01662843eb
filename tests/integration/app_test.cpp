// App workers: a program of another language as the workers, given the socket
// (LISTEN_FDS) and heard through its own NOTIFY_SOCKET, with the whole model: the
// suicide notice, replacement, hang detection, reload and stop.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"
#include "support/load_generator.hpp"
#include "support/temp_dir.hpp"

namespace corral::test {
namespace {

std::vector<std::string> probe(std::vector<std::string> flags, const std::vector<std::string>& app_arguments = {}) {
  flags.insert(flags.end(), {"--", "python3", source_root() + "/tests/apps/probe_app.py"});
  flags.insert(flags.end(), app_arguments.begin(), app_arguments.end());
  return flags;
}

std::vector<std::string> example(std::vector<std::string> flags) {
  flags.insert(flags.end(), {"--", "python3", source_root() + "/examples/python/app.py"});
  return flags;
}

// "key=value" from the probe's description.
std::string field(const std::string& body, const std::string& key) {
  std::smatch match;
  if (!std::regex_search(body, match, std::regex("(?:^| )" + key + "=(\\S*)"))) return "";
  return match[1];
}

// Asks until every worker has answered (each connection goes to one of them).
std::map<std::string, std::string> describe_every_worker(CorralInstance& corral, std::size_t workers) {
  std::map<std::string, std::string> by_pid;
  for (int attempt = 0; attempt < 200 && by_pid.size() < workers; ++attempt) {
    const auto response = http_request(corral.port, "GET", "/");
    if (response && response->status == 200) by_pid[field(response->body, "pid")] = response->body;
  }
  return by_pid;
}

TEST(AppWorkers, EachWorkerGetsTheSocketAndItsOwnEnvironment) {
  auto corral = CorralInstance::start(probe({"--hang-timeout", "7"}), 2);
  const auto workers = describe_every_worker(*corral, 2);
  ASSERT_EQ(workers.size(), 2u) << corral->process->output();
  std::set<std::string> slots;
  std::set<std::string> notify_sockets;
  for (const auto& [pid, body] : workers) {
    EXPECT_EQ(field(body, "ppid"), std::to_string(corral->supervisor_pid())) << body;
    EXPECT_EQ(field(body, "listen_pid"), pid) << "LISTEN_PID is the worker's own pid: " << body;
    EXPECT_EQ(field(body, "listen_fds"), "1") << body;
    EXPECT_EQ(field(body, "names"), "http") << body;
    EXPECT_EQ(field(body, "generation"), "1") << body;
    EXPECT_EQ(field(body, "watchdog_usec"), "7000000") << body;
    EXPECT_TRUE(field(body, "notify").starts_with("@corral/")) << body;
    slots.insert(field(body, "slot"));
    notify_sockets.insert(field(body, "notify"));
  }
  EXPECT_EQ(slots, (std::set<std::string>{"0", "1"}));
  EXPECT_EQ(notify_sockets.size(), 2u) << "a socket per worker";
}

TEST(AppWorkers, TheAppTableSetsTheDirectoryAndEnvironment) {
  TempDir directory;
  const auto config = directory / "corral.toml";
  std::ofstream(config) << "[app]\ncommand = [\"python3\", \"" << source_root()
                        << "/tests/apps/probe_app.py\"]\nworking_directory = \"" << directory.path()
                        << "\"\nenvironment = { PROBE_MARKER = \"from-the-file\" }\n";
  auto corral = CorralInstance::start({"--config", config}, 1);
  const auto response = http_request(corral->port, "GET", "/");
  ASSERT_TRUE(response);
  EXPECT_EQ(field(response->body, "marker"), "from-the-file") << response->body;
  EXPECT_EQ(field(response->body, "cwd"), directory.path()) << response->body;
}

// A worker that has sent its notice takes no new connection (it stops listening first),
// so a crash cannot land on one that corral already counts as going.
void expect_no_new_connection_reaches(std::uint16_t port, const std::string& pid) {
  for (int request = 0; request < 5; ++request) {
    const auto answer = http_request(port, "GET", "/");
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->body.find("pid:" + pid + ","), std::string::npos) << answer->body;
  }
}

TEST(AppWorkers, TheSuicideNoticeStartsTheReplacementAndNoRequestFailsUnderLoad) {
  auto corral = CorralInstance::start(example({}), 2);
  LoadGenerator load(corral->port, "/", 2, 1);
  for (int crash = 0; crash < 5; ++crash) {
    const auto mark = corral->mark();
    const auto response = http_request(corral->port, "GET", "/crash");
    ASSERT_TRUE(response) << corral->process->output();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("connection"), "close");
    const auto notice = corral->process->wait_for_line(
        std::regex("\\(pid (\\d+)\\) sent a suicide notice: crashing on purpose \\(/crash\\); starting its replacement now"),
        5s, mark);
    ASSERT_TRUE(notice) << corral->process->output();
    expect_no_new_connection_reaches(corral->port, notice->at(1));
    corral->wait_worker_ready(mark);
  }
  const auto stats = load.stop();
  EXPECT_GT(stats.succeeded, 0u);
  EXPECT_EQ(stats.failed + stats.refused, 0u) << stats.first_failure << "\n" << corral->process->output();
  EXPECT_TRUE(corral->notify.wait_for("2/2 workers ready", 10s));
}

// The seed's own Node program, its master replaced by corral: it answers, and throws on
// /crash after the answer, sending the notice through systemd-notify(1) first.
TEST(AppWorkers, TheSeedsNodeProgramAnswersAndItsCrashIsReplacedWithoutAFailedRequest) {
  auto corral = CorralInstance::start({"--", "node", source_root() + "/examples/node-seed/server.js"}, 2);
  const auto answer = http_request(corral->port, "GET", "/");
  ASSERT_TRUE(answer);
  EXPECT_TRUE(std::regex_search(answer->body, std::regex("^I am worker, pid:\\d+, ppid:" +
                                                         std::to_string(corral->supervisor_pid()) + "$")))
      << answer->body;
  LoadGenerator load(corral->port, "/", 2, 1);
  for (int crash = 0; crash < 3; ++crash) {
    const auto mark = corral->mark();
    ASSERT_TRUE(http_request(corral->port, "GET", "/crash"));
    const auto notice = corral->process->wait_for_line(
        std::regex("\\(pid (\\d+)\\) sent a suicide notice: crash on purpose \\(/crash\\); starting its replacement now"),
        10s, mark);
    ASSERT_TRUE(notice) << corral->process->output();
    expect_no_new_connection_reaches(corral->port, notice->at(1));
    corral->wait_worker_ready(mark);
  }
  const auto stats = load.stop();
  EXPECT_GT(stats.succeeded, 0u);
  EXPECT_EQ(stats.failed + stats.refused, 0u) << stats.first_failure << "\n" << corral->process->output();
  EXPECT_EQ(corral->process->output().find("does not act on"), std::string::npos) << corral->process->output();
}

TEST(AppWorkers, AWorkerThatExitsOrIsKilledIsReplacedAndTheCauseLogged) {
  auto corral = CorralInstance::start(probe({}), 1);
  auto victim = corral->workers().at(0);
  auto mark = corral->mark();
  ::kill(victim, SIGKILL);
  EXPECT_NE(corral->wait_worker_exited(victim, mark).find("was killed by SIGKILL without a suicide notice"),
            std::string::npos);
  victim = corral->wait_worker_ready(mark);
  mark = corral->mark();
  ASSERT_TRUE(http_request(corral->port, "GET", "/exit"));
  EXPECT_NE(corral->wait_worker_exited(victim, mark).find("exited with code 7 without a suicide notice"),
            std::string::npos);
  corral->wait_worker_ready(mark);
}

TEST(AppWorkers, AWorkerThatStopsItsWatchdogIsAbortedWithinTheHangTimeout) {
  auto corral = CorralInstance::start(probe({"--hang-timeout", "1"}), 1);
  const auto hung = corral->workers().at(0);
  const auto mark = corral->mark();
  ASSERT_TRUE(http_request(corral->port, "GET", "/hang"));
  EXPECT_TRUE(corral->process->wait_for_line(
      std::regex("worker 0 \\(pid " + std::to_string(hung) + "\\) has sent nothing for 1 s: sending SIGABRT"), 5s,
      mark))
      << corral->process->output();
  EXPECT_NE(corral->wait_worker_exited(hung, mark).find("was killed by SIGABRT"), std::string::npos);
  corral->wait_worker_ready(mark);
}

TEST(AppWorkers, AWorkerAboveMaxRssIsRecycledItsSuccessorFirst) {
  auto corral = CorralInstance::start(probe({"--max-rss", "1"}), 1);  // any Python is larger
  const auto first = corral->workers().at(0);
  const auto mark = corral->mark();
  const auto recycled = corral->process->wait_for_line(
      std::regex("recycling worker 0 \\(pid " + std::to_string(first) + "\\): .*; its successor starts now"), 5s,
      mark);
  ASSERT_TRUE(recycled) << corral->process->output();
  EXPECT_NE(corral->wait_worker_ready(mark), first);
  EXPECT_NE(corral->wait_worker_exited(first, mark).find("exited with code 0 after recycle"), std::string::npos)
      << corral->process->output();
}

TEST(AppWorkers, AProgramThatSendsNothingIsKeptWithoutWatchdogAndReadyWhenStarted) {
  TempDir directory;
  const auto config = directory / "corral.toml";
  std::ofstream(config) << "hang_timeout = 1\n[app]\ncommand = [\"python3\", \"" << source_root()
                        << "/tests/apps/probe_app.py\", \"--quiet\"]\nready = \"started\"\n";
  auto corral = CorralInstance::start({"--config", config}, 2);
  const auto before = corral->workers();
  const auto mark = corral->mark();
  // Longer than hang_timeout: a program that never sent WATCHDOG=1 is not hung.
  EXPECT_FALSE(corral->process->wait_for_line(std::regex("has sent nothing"), 2500ms, mark));
  EXPECT_EQ(corral->workers(), before);
  EXPECT_TRUE(http_request(corral->port, "GET", "/"));
}

TEST(AppWorkers, ReloadReplacesEveryWorkerUnderLoadWithoutAFailedRequest) {
  auto corral = CorralInstance::start(example({}), 2);
  const auto before = corral->workers();
  LoadGenerator load(corral->port, "/", 2, 1);
  const auto mark = corral->mark();
  corral->process->signal(SIGHUP);
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("reload complete"), 20s, mark)) << corral->process->output();
  for (const pid_t old : before) corral->wait_worker_exited(old, mark);
  ASSERT_TRUE(http_request(corral->port, "GET", "/"));
  const auto stats = load.stop();
  EXPECT_GT(stats.succeeded, 0u);
  EXPECT_EQ(stats.failed + stats.refused, 0u) << stats.first_failure << "\n" << corral->process->output();
}

TEST(AppWorkers, StopDrainsEveryWorkerAndNoneOutlivesAKilledSupervisor) {
  {
    auto corral = CorralInstance::start(example({}), 2);
    const auto workers = corral->workers();
    corral->process->signal(SIGTERM);
    const auto status = corral->process->wait_exit(10s);
    ASSERT_TRUE(status) << corral->process->output();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << corral->process->output();
    for (const pid_t worker : workers) EXPECT_TRUE(wait_gone(worker, 1s));
    EXPECT_NE(corral->process->output().find("exited with code 0 after stop"), std::string::npos);
  }
  auto corral = CorralInstance::start(example({}), 2);
  const auto workers = corral->workers();
  ASSERT_EQ(workers.size(), 2u);
  corral->process->signal(SIGKILL);
  for (const pid_t worker : workers) EXPECT_TRUE(wait_gone(worker, 5s)) << "worker " << worker << " was orphaned";
}

// Egg.js's agent: with tasks, one worker of corral's own runs them beside the app's.
TEST(AppWorkers, TasksRunInTheAgentBesideTheAppWorkers) {
  TempDir directory;
  const auto config = directory / "corral.toml";
  std::ofstream(config) << "[[task]]\nname = \"stamp\"\nevery = \"1s\"\ncommand = [\"sh\", \"-c\", "
                           "\"echo stamped by $PPID\"]\n[app]\ncommand = [\"python3\", \""
                        << source_root() << "/tests/apps/probe_app.py\"]\n";
  auto corral = CorralInstance::start({"--config", config, "--control-socket", directory / "control.sock"}, 2);
  const auto agent = corral->process->wait_for_line(
      std::regex(R"(worker 2 started: pid (\d+), generation 1 \(the agent: it runs the tasks\))"), 1s);
  ASSERT_TRUE(agent) << corral->process->output();
  const auto mark = corral->mark();
  for (int run = 0; run < 2; ++run) {
    ASSERT_TRUE(corral->process->wait_for_line(std::regex("task stamp: stamped by " + agent->at(1)), 5s, mark))
        << corral->process->output();
    ASSERT_TRUE(corral->process->wait_for_line(std::regex("task stamp: ok in [0-9.]+ ms on worker 2"), 5s, mark))
        << corral->process->output();
  }
  EXPECT_EQ(describe_every_worker(*corral, 2).size(), 2u) << "the app's two workers serve; the agent does not";
  const auto status = run_to_exit({corral_binary(), "status", "--control-socket", directory / "control.sock"});
  EXPECT_NE(status.output.find("agent: runs the scheduled tasks"), std::string::npos) << status.output;
}

TEST(AppWorkers, AProgramThatCannotRunOrMaxRequestsIsAConfigurationError) {
  auto missing = run_to_exit({corral_binary(), "--check-config", "--", "no-such-program-anywhere"});
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("app.command: \"no-such-program-anywhere\" was not found on PATH"), std::string::npos)
      << missing.output;
  auto found = run_to_exit({corral_binary(), "--check-config", "--", "python3", "app.py"});
  EXPECT_EQ(found.exit_code, 0) << found.output;
  EXPECT_NE(found.output.find(", app /"), std::string::npos) << found.output;
  auto counted = run_to_exit({corral_binary(), "--max-requests", "100", "--", "python3", "app.py"});
  EXPECT_EQ(counted.exit_code, 2) << counted.output;
  EXPECT_NE(counted.output.find("max_requests: cannot apply to an app"), std::string::npos) << counted.output;
  auto empty = run_to_exit({corral_binary(), "--"});
  EXPECT_EQ(empty.exit_code, 2) << empty.output;
  EXPECT_NE(empty.output.find("`--` must be followed by the program"), std::string::npos) << empty.output;
}

}  // namespace
}  // namespace corral::test
