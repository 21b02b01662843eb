// What an app worker is told about itself through its environment.
#include <gtest/gtest.h>

#include <algorithm>

#include "app/app_environment.hpp"

namespace corral::app {
namespace {

TEST(AppEnvironment, GivesTheWorkerItsOwnSocketsAndDropsCorralsOwn) {
  AppSettings settings;
  settings.command = {"node", "server.js"};
  settings.environment = {{"NODE_ENV", "production"}, {"PATH", "/opt/node/bin"}};
  AppWorker worker{1, 4, 2, "@corral/10/1.4", std::chrono::seconds(30)};
  const std::vector<std::string> inherited{"PATH=/usr/bin", "HOME=/var/lib/corral", "LISTEN_FDS=1",
                                           "LISTEN_PID=10", "LISTEN_FDNAMES=corral.socket",
                                           "NOTIFY_SOCKET=/run/systemd/notify", "WATCHDOG_USEC=60000000",
                                           "WATCHDOG_PID=10", "CORRAL_WORKER_SLOT=9", "INVOCATION_ID=abc"};
  auto environment = app_environment(settings, worker, inherited);
  std::sort(environment.begin(), environment.end());
  EXPECT_EQ(environment, (std::vector<std::string>{
                             "CORRAL_WORKER_GENERATION=4", "CORRAL_WORKER_SLOT=1", "HOME=/var/lib/corral",
                             "INVOCATION_ID=abc", "LISTEN_FDNAMES=http:http", "LISTEN_FDS=2", "NODE_ENV=production",
                             "NOTIFY_SOCKET=@corral/10/1.4", "PATH=/opt/node/bin", "WATCHDOG_USEC=30000000"}));
  worker.watchdog.reset();
  const auto without = app_environment(settings, worker, {});
  EXPECT_EQ(std::count_if(without.begin(), without.end(), [](const auto& e) { return e.starts_with("WATCHDOG"); }),
            0)
      << "no hang detection, no WATCHDOG_USEC";
  EXPECT_FALSE(current_environment().empty());
}

}  // namespace
}  // namespace corral::app
