// Scheduled tasks on the real binary (the tests' own service, tests/service/): each run
// exactly once across workers and across two instances on one Redis, run_on = all,
// and every failure rule: a throw, a crash mid-run, a timeout, an overlap, a reload and
// a stop during a run, and runs missed while corral was down.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/corral_instance.hpp"
#include "support/redis_sentinel_group.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace corral::test {
namespace {

// One line the test service's tasks append: "EVENT TASK SCHEDULED_MS PID ATTEMPT WALL_US".
struct TaskNote {
  std::string event;
  std::string task;
  std::int64_t scheduled_ms = 0;
  pid_t pid = 0;
  unsigned attempt = 0;
  std::int64_t wall_us = 0;
};

std::vector<TaskNote> read_notes(const std::string& file, const std::string& event, const std::string& task) {
  std::vector<TaskNote> notes;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    TaskNote note;
    if (!(fields >> note.event >> note.task >> note.scheduled_ms >> note.pid >> note.attempt >> note.wall_us)) {
      ADD_FAILURE() << "a torn line in the task log: " << line;
      continue;
    }
    if (note.event == event && note.task == task) notes.push_back(note);
  }
  return notes;
}

// Waits until the task log holds `count` notes of `event` for `task`, woken by inotify
// each time the log's folder changes: a task's function writes its "start" note after
// its worker has told the supervisor that the run started. The notes, however many.
std::vector<TaskNote> wait_for_notes(const std::string& file, const std::string& event, const std::string& task,
                                     std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  const auto folder = std::filesystem::path(file).parent_path();
  ::inotify_add_watch(watch, folder.c_str(), IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE);
  const auto until = std::chrono::steady_clock::now() + timeout;
  auto notes = read_notes(file, event, task);
  while (notes.size() < count) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd polled{watch, POLLIN, 0};
    if (::poll(&polled, 1, static_cast<int>(left.count())) > 0) {
      char events[4096];
      while (::read(watch, events, sizeof events) > 0) {
      }
    }
    notes = read_notes(file, event, task);
  }
  ::close(watch);
  return notes;
}

// The supervisor's debug line when a worker acknowledges a run: [1] is its pid.
std::regex started_line(const std::string& task) {
  return std::regex("task " + task + ": run started on worker \\d+ \\(pid (\\d+)\\)");
}

class TaskTest : public ::testing::Test {
 protected:
  // The test service with `tasks` (TOML [[task]] entries) and its task log.
  std::unique_ptr<CorralInstance> start(const std::string& tasks, unsigned workers = 2,
                                        std::vector<std::string> flags = {}) {
    std::ofstream(directory_ / "corral.toml") << "app.task_log = \"" << log() << "\"\n" << tasks;
    flags.insert(flags.end(), {"--config", directory_ / "corral.toml", "--state-dir", directory_.path(),
                               "--control-socket", socket()});
    return CorralInstance::start_binary(test_service_binary(), flags, workers);
  }

  std::string log() const { return directory_ / "tasks.log"; }
  std::string socket() const { return directory_ / "control.sock"; }

  nlohmann::json status() {
    const auto ran = run_to_exit({test_service_binary(), "status", "--json", "--control-socket", socket()});
    EXPECT_EQ(ran.exit_code, 0) << ran.output;
    return nlohmann::json::parse(ran.output);
  }

  nlohmann::json task_status(const std::string& name) {
    const auto all = status();
    for (const auto& task : all["tasks"]) {
      if (task["name"] == name) return task;
    }
    ADD_FAILURE() << "no task " << name << " in the status";
    return {};
  }

  Ran run_now(const std::string& task) {
    return run_to_exit({test_service_binary(), "task", "run", task, "--control-socket", socket()});
  }

  // The "slow" task (3 s, retry = true) on a pool of `workers`, for the crash tests.
  std::unique_ptr<CorralInstance> start_retryable_run(unsigned workers) {
    return start("app.task_sleep = 3\n[[task]]\nname = \"slow\"\nretry = true\nevery = \"1h\"\nenabled = true\n",
                 workers, {"--log-level", "debug"});
  }

  // Runs "slow" by hand and kill -9s the worker once the run has started; its pid,
  // or 0 (a failure already reported).
  pid_t kill_the_worker_running_it(CorralInstance& corral, std::size_t from) {
    if (run_now("slow").exit_code != 0) {
      ADD_FAILURE() << "task run slow failed";
      return 0;
    }
    const auto started = corral.process->wait_for_line(started_line("slow"), 5s, from);
    if (!started) {
      ADD_FAILURE() << "the run did not start:\n" << corral.process->output();
      return 0;
    }
    const pid_t running = std::stoi((*started)[1]);
    // Killed once its function runs: the start note is there.
    if (wait_for_notes(log(), "start", "slow", 1).empty()) ADD_FAILURE() << "the run's function did not start";
    ::kill(running, SIGKILL);
    return running;
  }

  static void stop_both(CorralInstance& first, CorralInstance& second) {
    first.process->signal(SIGTERM);
    second.process->signal(SIGTERM);
    EXPECT_TRUE(first.process->wait_exit(30s));
    EXPECT_TRUE(second.process->wait_exit(30s));
  }

  TempDir directory_;
};

// Scheduled times seen, each with how many starts it had.
std::map<std::int64_t, int> starts_by_run(const std::vector<TaskNote>& starts) {
  std::map<std::int64_t, int> runs;
  for (const auto& note : starts) ++runs[note.scheduled_ms];
  return runs;
}

void expect_each_once_without_gaps(const std::map<std::int64_t, int>& runs, std::int64_t period_ms) {
  ASSERT_FALSE(runs.empty());
  std::int64_t previous = runs.begin()->first - period_ms;
  for (const auto& [scheduled, count] : runs) {
    EXPECT_EQ(count, 1) << "the run due at " << scheduled << " started " << count << " times";
    EXPECT_EQ(scheduled - previous, period_ms) << "runs missing before the one due at " << scheduled;
    previous = scheduled;
  }
}

// The service's function "tick", and beside it "stamp", a program that the file names
// ([[task]] command), which appends the same notes.
TEST_F(TaskTest, EachRunOfAOneSecondTaskRunsExactlyOnceOnFourWorkersForAMinute) {
  auto corral = start("[[task]]\nname = \"tick\"\nenabled = true\n"
                      "[[task]]\nname = \"stamp\"\nevery = \"1s\"\ncommand = [\"sh\", \"-c\", "
                      "\"echo start $CORRAL_TASK ${CORRAL_TASK_SCHEDULED}000 $$ $CORRAL_TASK_ATTEMPT 0 >> " +
                          log() + "\"]\n",
                      4);
  ASSERT_EQ(corral->workers().size(), 4U);
  const auto from = corral->mark();
  int seen = 0;
  for (std::size_t at = from; seen < 60; ++seen) {
    const auto line = corral->process->wait_for_line(std::regex("task tick: ok"), 5s, at);
    ASSERT_TRUE(line) << "run " << seen << " did not come:\n" << corral->process->output();
    at = corral->mark();
  }
  corral->process->signal(SIGTERM);
  ASSERT_TRUE(corral->process->wait_exit(30s));
  const auto starts = read_notes(log(), "start", "tick");
  const auto runs = starts_by_run(starts);
  EXPECT_GE(runs.size(), 60U);
  expect_each_once_without_gaps(runs, 1000);
  const auto stamps = starts_by_run(read_notes(log(), "start", "stamp"));
  EXPECT_GE(stamps.size(), 59U) << corral->process->output();
  expect_each_once_without_gaps(stamps, 1000);
}

// Through a failover of the store (Redis Sentinel, store_wait_replicas = 1): no run
// twice; a run due while no primary answers may be missed, and is logged so.
TEST_F(TaskTest, TwoInstancesOnSentinelRunNoRunTwiceThroughAFailover) {
  RedisSentinelGroup group(2, 1000ms);
  const std::string tasks = "[[task]]\nname = \"tick\"\nenabled = true\n";
  const std::vector<std::string> store{"--store", group.address(), "--store-wait-replicas", "1"};
  auto first = start(tasks, 2, store);
  TempDir second_directory;
  std::ofstream(second_directory / "corral.toml") << "app.task_log = \"" << log() << "\"\n" << tasks;
  std::vector<std::string> flags{"--config", second_directory / "corral.toml", "--state-dir", second_directory.path(),
                                 "--control-socket", second_directory / "control.sock"};
  flags.insert(flags.end(), store.begin(), store.end());
  auto second = CorralInstance::start_binary(test_service_binary(), flags, 2);
  const auto wait_for_runs = [&](int count) {
    std::size_t at = second->mark();
    for (int seen = 0; seen < count; ++seen) {
      const auto line = second->process->wait_for_line(std::regex("task tick: \\w+"), 10s, at);
      ASSERT_TRUE(line) << second->process->output();
      at = second->mark();
    }
  };
  wait_for_runs(3);
  const auto killed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  group.kill_server(group.first_primary_port());
  ASSERT_TRUE(group.wait_for_new_primary(group.first_primary_port(), 20s));
  // Runs go on once the new primary confirms their locks: two more, on either instance
  // (each logs every run: ok where it ran, elsewhere where the other did).
  std::size_t at = second->mark();
  for (int run = 0; run < 2; ++run) {
    const auto line = second->process->wait_for_line(std::regex("task tick: (ok|elsewhere)"), 15s, at);
    ASSERT_TRUE(line) << first->process->output() << second->process->output();
    at = second->mark();
  }
  stop_both(*first, *second);
  const auto runs = starts_by_run(read_notes(log(), "start", "tick"));
  EXPECT_GE(runs.size(), 4U);
  EXPECT_GT(runs.rbegin()->first, killed_ms) << "no run after the failover";
  for (const auto& [scheduled, count] : runs) {
    EXPECT_EQ(count, 1) << "the run due at " << scheduled << " started " << count << " times";
  }
}

TEST_F(TaskTest, ACommandTasksOutputIsLoggedAndItsExitCodeDecidesTheOutcome) {
  auto corral = start("[[task]]\nname = \"report\"\nevery = \"1h\"\ncommand = [\"sh\", \"-c\", "
                      "\"echo first line; echo to stderr >&2; printf 'no newline'; exit 3\"]\n"
                      "[[task]]\nname = \"absent\"\nevery = \"1h\"\ncommand = [\"no-such-program-anywhere\"]\n");
  auto from = corral->mark();
  ASSERT_EQ(run_now("report").exit_code, 0);
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("task report: (ok|failed)"), 10s, from))
      << corral->process->output();
  for (const char* line : {"task report: first line", "task report: to stderr", "task report: no newline"}) {
    EXPECT_TRUE(corral->process->wait_for_line(std::regex(line), 1s, from)) << line << "\n" << corral->process->output();
  }
  EXPECT_TRUE(corral->process->wait_for_line(std::regex("task report: failed .*: the program exited with code 3"), 1s,
                                             from))
      << corral->process->output();
  from = corral->mark();
  ASSERT_EQ(run_now("absent").exit_code, 0);
  const auto failed = corral->process->wait_for_line(std::regex("task absent: failed.*"), 10s, from);
  ASSERT_TRUE(failed) << corral->process->output();
  EXPECT_NE(failed->at(0).find("posix_spawnp(\"no-such-program-anywhere\")"), std::string::npos) << failed->at(0);
  EXPECT_EQ(task_status("absent")["runs"]["failed"], 1);
}

TEST_F(TaskTest, ACommandPastItsTimeoutIsStoppedAndItsWorkerStays) {
  auto corral = start("[[task]]\nname = \"stuck\"\nevery = \"1h\"\ntimeout = 1\n"
                      "command = [\"sh\", \"-c\", \"echo start stuck 0 $$ 1 0 >> " + log() + "; sleep 30\"]\n",
                      1);
  const auto worker = corral->workers().at(0);
  const auto from = corral->mark();
  ASSERT_EQ(run_now("stuck").exit_code, 0);
  const auto timeout = corral->process->wait_for_line(std::regex("task stuck: timeout.*"), 10s, from);
  ASSERT_TRUE(timeout) << corral->process->output();
  EXPECT_NE(timeout->at(0).find("its program is being stopped"), std::string::npos) << timeout->at(0);
  const auto ended = corral->process->wait_for_line(std::regex("task stuck: the run on worker 0 ended failed after its "
                                                               "timeout"),
                                                    10s, from);
  EXPECT_TRUE(ended) << corral->process->output();
  const auto program = wait_for_notes(log(), "start", "stuck", 1);
  ASSERT_EQ(program.size(), 1U);
  EXPECT_TRUE(wait_gone(program[0].pid, 5s)) << "the program was not stopped";
  EXPECT_EQ(corral->workers(), std::vector<pid_t>{worker}) << "the worker was not recycled";
}

TEST_F(TaskTest, TwoInstancesOnOneRedisRunEachRunOnceBetweenThem) {
  RedisServer redis;
  const std::string tasks = "[[task]]\nname = \"tick\"\nenabled = true\n";
  auto first = start(tasks, 2, {"--store", redis.address()});
  // The second instance: its own state directory and control socket, the same task log.
  TempDir second_directory;
  std::ofstream(second_directory / "corral.toml") << "app.task_log = \"" << log() << "\"\n" << tasks;
  auto second = CorralInstance::start_binary(
      test_service_binary(),
      {"--config", second_directory / "corral.toml", "--state-dir", second_directory.path(), "--control-socket",
       second_directory / "control.sock", "--store", redis.address()},
      2);
  // Each instance logs every run: ok where it ran, elsewhere where the other did.
  std::size_t at = second->mark();
  for (int seen = 0; seen < 30; ++seen) {
    const auto line = second->process->wait_for_line(std::regex("task tick: (ok|elsewhere)"), 5s, at);
    ASSERT_TRUE(line) << second->process->output();
    at = second->mark();
  }
  stop_both(*first, *second);
  const auto runs = starts_by_run(read_notes(log(), "start", "tick"));
  EXPECT_GE(runs.size(), 30U);
  expect_each_once_without_gaps(runs, 1000);
  // Both took part: each saw runs taken by the other.
  EXPECT_NE(first->process->output().find("task tick: elsewhere"), std::string::npos)
      << first->process->output();
  EXPECT_NE(second->process->output().find("task tick: elsewhere"), std::string::npos)
      << second->process->output();
}

TEST_F(TaskTest, RunOnAllReachesEveryWorkerOncePerRunIncludingAReplacement) {
  auto corral = start("[[task]]\nname = \"everywhere\"\nenabled = true\n", 2);
  auto from = corral->mark();
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("task everywhere: ok"), 5s, from));
  const auto victim = corral->workers().front();
  from = corral->mark();
  ::kill(victim, SIGKILL);
  const auto replacement = corral->wait_worker_ready(from);
  ASSERT_GT(replacement, 0);
  // Three whole runs after the replacement is ready.
  const auto ready_at = corral->mark();
  std::size_t at = ready_at;
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(corral->process->wait_for_line(std::regex("task everywhere: ok"), 5s, at)) << corral->process->output();
    at = corral->mark();
  }
  corral->process->signal(SIGTERM);
  ASSERT_TRUE(corral->process->wait_exit(30s));
  std::map<std::int64_t, std::multiset<pid_t>> by_run;
  for (const auto& note : read_notes(log(), "start", "everywhere")) by_run[note.scheduled_ms].insert(note.pid);
  const auto workers_after = std::set<pid_t>{replacement};
  int runs_with_replacement = 0;
  for (const auto& [scheduled, pids] : by_run) {
    for (const auto pid : pids) EXPECT_EQ(pids.count(pid), 1U) << "a worker ran the run due at " << scheduled << " twice";
    EXPECT_LE(pids.size(), 2U);
    if (pids.count(replacement) == 1) {
      ++runs_with_replacement;
      EXPECT_EQ(pids.size(), 2U) << "the run due at " << scheduled << " missed a worker";
      EXPECT_EQ(pids.count(victim), 0U);
    }
  }
  EXPECT_GE(runs_with_replacement, 3);
}

TEST_F(TaskTest, ATaskThatThrowsIsRecordedAsFailedAndItsWorkerLivesOn) {
  auto corral = start("[[task]]\nname = \"throws\"\nenabled = true\n", 2);
  const auto workers = corral->workers();
  const auto from = corral->mark();
  const auto line = corral->process->wait_for_line(std::regex("task throws: failed.*"), 5s, from);
  ASSERT_TRUE(line) << corral->process->output();
  EXPECT_NE((*line)[0].find("failing on purpose"), std::string::npos) << (*line)[0];
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("task throws: failed"), 5s, corral->mark()));
  const auto task = task_status("throws");
  EXPECT_GE(task["runs"]["failed"].get<int>(), 2);
  EXPECT_EQ(task["last_outcome"], "failed");
  EXPECT_EQ(corral->workers(), workers) << "a worker was replaced";
}

TEST_F(TaskTest, AWorkerKilledMidRunIsRecordedAndTheRunIsRetriedOnAnotherWorker) {
  auto corral = start_retryable_run(2);
  const auto from = corral->mark();
  const pid_t running = kill_the_worker_running_it(*corral, from);
  ASSERT_GT(running, 0);
  const auto crashed = corral->process->wait_for_line(std::regex("task slow: crashed.*"), 10s, from);
  ASSERT_TRUE(crashed) << corral->process->output();
  const auto retried = corral->process->wait_for_line(std::regex("task slow: ok.*attempt 2.*"), 15s, from);
  ASSERT_TRUE(retried) << corral->process->output();
  const auto starts = read_notes(log(), "start", "slow");
  ASSERT_EQ(starts.size(), 2U);
  EXPECT_EQ(starts[1].attempt, 2U);
  EXPECT_NE(starts[1].pid, running);
  EXPECT_EQ(starts[1].scheduled_ms, starts[0].scheduled_ms) << "the retry is the same run";
  const auto task = task_status("slow");
  EXPECT_EQ(task["runs"]["crashed"], 1);
  EXPECT_EQ(task["runs"]["ok"], 1);
}

TEST_F(TaskTest, InAPoolOfOneTheRetryWaitsForTheKilledWorkersReplacement) {
  auto corral = start_retryable_run(1);
  const auto from = corral->mark();
  ASSERT_GT(kill_the_worker_running_it(*corral, from), 0);
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("task slow: ok.*attempt 2.*"), 15s, from))
      << corral->process->output();
  const auto starts = read_notes(log(), "start", "slow");
  ASSERT_EQ(starts.size(), 2U);
  EXPECT_EQ(starts[1].attempt, 2U);
}

TEST_F(TaskTest, ARunPastItsTimeoutIsRecordedAndItsWorkerRecycled) {
  auto corral = start("app.task_sleep = 600\n[[task]]\nname = \"slow\"\ntimeout = 1\nevery = \"1h\"\nenabled = true\n", 2);
  const auto from = corral->mark();
  ASSERT_EQ(run_now("slow").exit_code, 0);
  const auto timed_out = corral->process->wait_for_line(std::regex("task slow: timeout.*"), 10s, from);
  ASSERT_TRUE(timed_out) << corral->process->output();
  const auto starts = read_notes(log(), "start", "slow");
  ASSERT_EQ(starts.size(), 1U);
  // Its successor starts and the stuck worker goes (past its task's timeout, the drain
  // does not wait for the thread).
  EXPECT_GT(corral->wait_worker_ready(from), 0);
  EXPECT_NE(corral->wait_worker_exited(starts[0].pid, from, 20s), "") << corral->process->output();
  const auto task = task_status("slow");
  EXPECT_EQ(task["runs"]["timeout"], 1);
}

TEST_F(TaskTest, ARunDueWhileThePreviousStillRunsIsSkippedAndCounted) {
  auto corral = start("app.task_sleep = 2.5\n[[task]]\nname = \"slow\"\nenabled = true\n", 2);
  const auto from = corral->mark();
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("task slow: overlap"), 10s, from)) << corral->process->output();
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("task slow: ok"), 10s, from)) << corral->process->output();
  corral->process->signal(SIGTERM);
  ASSERT_TRUE(corral->process->wait_exit(30s));
  // Never two at once.
  const auto starts = read_notes(log(), "start", "slow");
  const auto ends = read_notes(log(), "end", "slow");
  ASSERT_GE(starts.size(), 1U);
  for (std::size_t i = 1; i < starts.size(); ++i) {
    ASSERT_GE(ends.size(), i);
    EXPECT_GE(starts[i].wall_us, ends[i - 1].wall_us) << "run " << i << " started before run " << i - 1 << " ended";
  }
}

TEST_F(TaskTest, AReloadDuringARunNeitherDoublesNorDropsRuns) {
  // "steps" honours stop_requested(): a reload must not cut it short.
  auto corral = start("app.task_sleep = 2\n[[task]]\nname = \"steps\"\nevery = \"1h\"\nenabled = true\n"
                      "[[task]]\nname = \"tick\"\nenabled = true\n",
                      2, {"--log-level", "debug"});
  auto from = corral->mark();
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("task tick: ok"), 5s, from));
  ASSERT_EQ(run_now("steps").exit_code, 0);
  ASSERT_TRUE(corral->process->wait_for_line(started_line("steps"), 5s, from)) << corral->process->output();
  corral->process->signal(SIGHUP);
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("reload complete"), 20s, from)) << corral->process->output();
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("task steps: ok"), 10s, from)) << corral->process->output();
  // A few more ticks after the reload.
  std::size_t at = corral->mark();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(corral->process->wait_for_line(std::regex("task tick: ok"), 5s, at));
    at = corral->mark();
  }
  corral->process->signal(SIGTERM);
  ASSERT_TRUE(corral->process->wait_exit(30s));
  EXPECT_EQ(read_notes(log(), "start", "steps").size(), 1U);
  EXPECT_EQ(read_notes(log(), "end", "steps").size(), 1U) << "the run was cut short";
  EXPECT_TRUE(read_notes(log(), "stopped", "steps").empty());
  expect_each_once_without_gaps(starts_by_run(read_notes(log(), "start", "tick")), 1000);
}

TEST_F(TaskTest, StopLetsARunningTaskFinishWithinTheDrainDeadline) {
  auto corral = start("app.task_sleep = 2\n[[task]]\nname = \"steps\"\nevery = \"1h\"\nenabled = true\n", 2,
                      {"--log-level", "debug"});
  const auto from = corral->mark();
  ASSERT_EQ(run_now("steps").exit_code, 0);
  ASSERT_TRUE(corral->process->wait_for_line(started_line("steps"), 5s, from)) << corral->process->output();
  ASSERT_EQ(wait_for_notes(log(), "start", "steps", 1).size(), 1U);
  corral->process->signal(SIGTERM);
  const auto status = corral->process->wait_exit(30s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << corral->process->output();
  EXPECT_EQ(read_notes(log(), "end", "steps").size(), 1U) << corral->process->output();
  EXPECT_NE(corral->process->output().find("task steps: ok"), std::string::npos) << corral->process->output();
}

TEST_F(TaskTest, AStopPastTheDrainDeadlineAsksTheRunToStopFirst) {
  auto corral = start("app.task_sleep = 60\ndrain_timeout = 2\n[[task]]\nname = \"steps\"\nevery = \"1h\"\n"
                      "enabled = true\n",
                      2, {"--log-level", "debug"});
  const auto from = corral->mark();
  ASSERT_EQ(run_now("steps").exit_code, 0);
  ASSERT_TRUE(corral->process->wait_for_line(started_line("steps"), 5s, from)) << corral->process->output();
  corral->process->signal(SIGTERM);
  ASSERT_TRUE(corral->process->wait_exit(30s));
  EXPECT_EQ(read_notes(log(), "stopped", "steps").size(), 1U) << corral->process->output();
  EXPECT_NE(corral->process->output().find("task steps: ok"), std::string::npos) << corral->process->output();
}

TEST_F(TaskTest, RunsMissedWhileDownRunOnceWhenTheTaskSaysSo) {
  // The last run taken three hours ago: two or three hourly runs were missed since.
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::int64_t hour = 3'600'000;
  std::ofstream(directory_ / "tasks.last") << "tick " << (now_ms / hour - 3) * hour << "\n"
                                           << "everywhere " << (now_ms / hour - 3) * hour << "\n";
  auto corral = start("[[task]]\nname = \"tick\"\nevery = \"1h\"\nmissed = \"run-once\"\nenabled = true\n"
                      "[[task]]\nname = \"everywhere\"\nevery = \"1h\"\nenabled = true\n",
                      2);
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("task tick: ok"), 10s, 0)) << corral->process->output();
  corral->process->signal(SIGTERM);
  ASSERT_TRUE(corral->process->wait_exit(30s));
  const auto ticks = read_notes(log(), "start", "tick");
  ASSERT_EQ(ticks.size(), 1U) << "missed runs run once, not once each";
  EXPECT_EQ(ticks[0].scheduled_ms, ticks[0].wall_us / 1000 / hour * hour) << "the latest missed run";
  EXPECT_TRUE(read_notes(log(), "start", "everywhere").empty()) << "missed = skip";
  // 3, or 4 if an hour began between writing the file and corral's start.
  EXPECT_TRUE(std::regex_search(corral->process->output(),
                                std::regex("task everywhere: [34] runs were due while corral was down; skipped")))
      << corral->process->output();
}

TEST_F(TaskTest, TaskRunNamesWhatIsWrong) {
  auto corral = start("", 1);
  const auto unknown = run_now("no-such-task");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("no task named \"no-such-task\""), std::string::npos) << unknown.output;
  const auto from = corral->mark();
  const auto disabled_runs = run_now("tick");
  EXPECT_EQ(disabled_runs.exit_code, 0) << "a disabled task may still be run by hand: " << disabled_runs.output;
  EXPECT_TRUE(corral->process->wait_for_line(std::regex("task tick: ok.*run by hand"), 5s, from))
      << corral->process->output();
  const auto nothing = run_to_exit({test_service_binary(), "task", "run", "tick", "--control-socket", directory_ / "none.sock"});
  EXPECT_EQ(nothing.exit_code, 1);
}

TEST_F(TaskTest, BadTaskConfigurationIsRefusedNamingKeyAndLine) {
  std::ofstream(directory_ / "bad.toml") << "[[task]]\nname = \"tick\"\ncron = \"61 * * * *\"\n";
  const auto bad_cron = run_to_exit({test_service_binary(), "--check-config", directory_ / "bad.toml"});
  EXPECT_NE(bad_cron.exit_code, 0) << bad_cron.output;
  EXPECT_NE(bad_cron.output.find("bad.toml:3: task.cron"), std::string::npos) << bad_cron.output;
  EXPECT_NE(bad_cron.output.find("minute"), std::string::npos) << bad_cron.output;
  std::ofstream(directory_ / "unknown.toml") << "\n[[task]]\nname = \"tock\"\n";
  const auto unknown = run_to_exit({test_service_binary(), "--check-config", directory_ / "unknown.toml"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("unknown.toml:3: task.name: no task named \"tock\""), std::string::npos)
      << unknown.output;
  std::ofstream(directory_ / "zone.toml") << "[[task]]\nname = \"nightly\"\ntimezone = \"Europe/Berln\"\n";
  const auto zone = run_to_exit({test_service_binary(), "--check-config", directory_ / "zone.toml"});
  EXPECT_NE(zone.exit_code, 0);
  EXPECT_NE(zone.output.find("zone.toml:3: task.timezone"), std::string::npos) << zone.output;
}

}  // namespace
}  // namespace corral::test
