// Keep-alive connections stay with the worker that accepted them, so where new ones go
// matters: a worker that holds more than its share leaves them to the others (the load
// board, src/ipc/load_board.hpp).
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <map>
#include <memory>
#include <regex>
#include <vector>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"

namespace corral::test {
namespace {

class Clients {
 public:
  explicit Clients(std::uint16_t port) : port_(port) {}

  // Opens `count` keep-alive connections, one request each; how many each worker took.
  std::map<pid_t, int> open(int count) {
    std::map<pid_t, int> taken;
    for (int i = 0; i < count; ++i) {
      auto connection = std::make_unique<RawConnection>(port_);
      connection->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      const auto response = connection->read_response(5s);
      if (!response) throw std::runtime_error("a request on a new connection got no answer");
      std::smatch match;
      if (!std::regex_search(response->body, match, std::regex(R"(pid:(\d+),)"))) {
        throw std::runtime_error("unexpected answer: " + response->body);
      }
      ++taken[std::stoi(match[1])];
      connections_.push_back(std::move(connection));
    }
    return taken;
  }

 private:
  std::uint16_t port_;
  std::vector<std::unique_ptr<RawConnection>> connections_;
};

TEST(Balance, AReplacementWorkerTakesNewConnectionsUntilItHoldsItsShare) {
  auto corral = CorralInstance::start({}, 2);
  Clients clients(corral->port);
  auto first = clients.open(30);
  ASSERT_EQ(first.size(), 2u) << "both workers took connections";
  const auto [fewest, most] = std::minmax({first.begin()->second, first.rbegin()->second});
  EXPECT_LE(most - fewest, 4) << "30 connections split " << fewest << ":" << most;

  // The victim's connections close with it; the survivor keeps its own.
  const pid_t victim = first.begin()->first;
  const pid_t survivor = first.rbegin()->first;
  const int survivor_holds = first.rbegin()->second;
  const auto mark = corral->mark();
  ::kill(victim, SIGKILL);
  corral->wait_worker_exited(victim, mark);
  const pid_t replacement = corral->wait_worker_ready(mark);

  auto second = clients.open(20);
  // Without the board the kernel would split these about evenly; with it, the survivor
  // takes none (or one, before it looks at the board) until the replacement has caught
  // up, within the margin of one and a sixteenth.
  EXPECT_GE(second[replacement], std::min(20, survivor_holds) - 3)
      << "the replacement took " << second[replacement] << " and the survivor " << second[survivor]
      << " of 20 new connections, with the survivor holding " << survivor_holds;
}

}  // namespace
}  // namespace corral::test
