#include <gtest/gtest.h>

#include <stdexcept>

#include "corral/log.hpp"
#include "corral/service.hpp"

namespace corral {
namespace {

void nothing(const Request&, Response&) {}

TEST(Service, NameIsChecked) {
  EXPECT_EQ(Service("hello-2").name(), "hello-2");
  for (const auto* bad : {"", "Hello", "2hello", "hello world", "hello_x", "a-very-long-service-name-beyond-32"}) {
    EXPECT_THROW(Service{bad}, std::invalid_argument) << bad;
  }
}

TEST(Service, RoutesAreCheckedWhenDefined) {
  Service service("hello");
  service.get("/a", nothing).post("/a", nothing).put("/a", nothing).patch("/a", nothing).del("/a", nothing);
  service.route("OPTIONS", "/a", nothing);
  service.debug_route("GET", "/debug/x", nothing);
  EXPECT_THROW(service.get("/a", nothing), std::invalid_argument) << "defined twice";
  service.get("/p/{x}", nothing);
  EXPECT_THROW(service.get("/p/{y}", nothing), std::invalid_argument) << "the same route, another name";
  EXPECT_THROW(service.debug_route("GET", "/debug/x", nothing), std::invalid_argument);
  EXPECT_THROW(service.get("no-slash", nothing), std::invalid_argument);
  EXPECT_THROW(service.get("/b/{", nothing), std::invalid_argument);
  EXPECT_THROW(service.get("/b", nullptr), std::invalid_argument);
}

TEST(Service, SettingsHaveTheirDefaultsAndRefuseCollisions) {
  Service service("hello");
  const auto text = service.text_setting("hello.greeting", "help", "hi");
  const auto number = service.number_setting("hello.limit", "help", 5, 1, 10);
  const auto flag = service.flag_setting("hello.loud", "help");
  const auto pause = service.duration_setting("hello.pause", "help", std::chrono::milliseconds(1500),
                                              std::chrono::milliseconds(0), std::chrono::seconds(10));
  EXPECT_EQ(*text, "hi");
  EXPECT_EQ(text->size(), 2u);
  EXPECT_EQ(*number, 5);
  EXPECT_FALSE(*flag);
  EXPECT_EQ(*pause, std::chrono::milliseconds(1500));
  EXPECT_THROW(service.text_setting("hello.greeting", "again", ""), std::invalid_argument);
  EXPECT_THROW(service.text_setting("drain_timeout", "corral's own", ""), std::invalid_argument);
  EXPECT_THROW(service.text_setting("Bad Key", "", ""), std::invalid_argument);
  static char name[] = "hello";
  static char version[] = "--version";
  static char* argv[] = {name, version, nullptr};
  EXPECT_EQ(service.run(2, argv), 0) << "a refused setting leaves nothing behind";
  EXPECT_THROW(service.number_setting("hello.n", "", 11, 1, 10), std::invalid_argument) << "default out of bounds";
  EXPECT_THROW(service.duration_setting("hello.d", "", std::chrono::seconds(1), std::chrono::seconds(2),
                                        std::chrono::seconds(3)),
               std::invalid_argument);
}

void no_task(const TaskRun&) {}

TEST(Service, TasksAreCheckedWhenDefined) {
  Service service("hello");
  TaskOptions options;
  options.run_on = RunOn::all;
  service.task("tick", Schedule::every(std::chrono::seconds(1)), no_task, options)
      .task("purge-sessions", Schedule::every(std::chrono::minutes(1)), purge_expired_store);
  EXPECT_THROW(service.task("tick", Schedule::every(std::chrono::seconds(5)), no_task), std::invalid_argument)
      << "defined twice";
  for (const auto* bad : {"", "Tick", "9lives", "tick tock", "a/b"}) {
    EXPECT_THROW(service.task(bad, Schedule::every(std::chrono::seconds(1)), no_task), std::invalid_argument) << bad;
  }
  EXPECT_THROW(service.task("empty", Schedule::every(std::chrono::seconds(1)), nullptr), std::invalid_argument);
  TaskOptions no_time;
  no_time.timeout = std::chrono::milliseconds(0);
  EXPECT_THROW(service.task("rushed", Schedule::every(std::chrono::seconds(1)), no_task, no_time),
               std::invalid_argument);
  TaskOptions late;
  late.jitter = std::chrono::seconds(60);
  EXPECT_THROW(service.task("late", Schedule::every(std::chrono::seconds(60)), no_task, late), std::invalid_argument)
      << "a jitter as long as the period";
  EXPECT_THROW(service.task("late", Schedule::cron("* * * * *"), no_task, late), std::invalid_argument)
      << "a jitter longer than the cron schedule's gaps";
  late.jitter = std::chrono::seconds(59);
  EXPECT_NO_THROW(service.task("late", Schedule::every(std::chrono::seconds(60)), no_task, late));
}

TEST(Schedule, IsValidOnceMade) {
  EXPECT_EQ(Schedule::every(std::chrono::minutes(2)).describe(), "every 120s");
  EXPECT_EQ(Schedule::every(std::chrono::minutes(2)).period(), std::chrono::seconds(120));
  EXPECT_THROW(Schedule::every(std::chrono::seconds(0)), std::invalid_argument);
  const auto nightly = Schedule::cron("0 3 * * MON-FRI", "Europe/Berlin");
  EXPECT_EQ(nightly.describe(), "cron 0 3 * * MON-FRI (Europe/Berlin)");
  EXPECT_EQ(nightly.expression(), "0 3 * * MON-FRI");
  EXPECT_EQ(nightly.time_zone(), "Europe/Berlin");
  EXPECT_EQ(nightly.period(), std::chrono::seconds(0));
  EXPECT_EQ(Schedule::cron("*/5 * * * *").describe(), "cron */5 * * * * (local time)");
  try {
    Schedule::cron("0 24 * * *");
    FAIL() << "hour 24";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("hour"), std::string::npos) << error.what();
  }
  try {
    Schedule::cron("0 3 * * *", "Europe/Berln");
    FAIL() << "a zone that does not exist";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("Europe/Berln"), std::string::npos) << error.what();
  }
}

TEST(Service, RunReturnsUsageErrorsInsteadOfThrowing) {
  Service service("hello");
  // run() may rewrite its argv in place (process titles) and keeps it, as a process
  // keeps its argv: writable strings that live as long as the test binary.
  static char name[] = "hello";
  static char version[] = "--version";
  static char unknown[] = "--no-such-flag";
  static char* asks_version[] = {name, version, nullptr};
  EXPECT_EQ(service.run(2, asks_version), 0);
  static char* bad_flag[] = {name, unknown, nullptr};
  EXPECT_EQ(service.run(2, bad_flag), 2);
}

TEST(Log, WritesWithoutAConfiguredLogger) {
  // Before run() sets the journal or console sink, spdlog's default logger takes it.
  log(LogLevel::info, "a line from a test");
  log(LogLevel::debug, "below the default level");
}

}  // namespace
}  // namespace corral
