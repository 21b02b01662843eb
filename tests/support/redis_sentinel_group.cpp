#include "support/redis_sentinel_group.hpp"

#include <signal.h>

#include <fstream>
#include <functional>
#include <regex>
#include <stdexcept>
#include <thread>

#include "support/http_client.hpp"

namespace corral::test {

RedisSentinelGroup::RedisSentinelGroup(unsigned replicas, std::chrono::milliseconds down_after) {
  for (unsigned i = 0; i <= replicas; ++i) {
    Process server{pick_free_port(), nullptr, {}};
    const auto folder = directory_ / ("server-" + std::to_string(i));
    std::filesystem::create_directory(folder);
    std::vector<std::string> argv{"redis-server", "--port", std::to_string(server.port), "--bind", "127.0.0.1",
                                  "--dir", folder, "--save", "", "--appendonly", "no", "--daemonize", "no",
                                  // A replica's first sync at once, not after Redis 7's 5 s wait for others.
                                  "--repl-diskless-sync-delay", "0"};
    if (i > 0) argv.insert(argv.end(), {"--replicaof", "127.0.0.1", std::to_string(servers_.front().port)});
    server.argv = argv;
    server.process = start_server(argv);
    servers_.push_back(std::move(server));
  }
  wait_until("the replicas to be in sync", 10s, [&] {
    const auto info = cli(servers_.front().port, "INFO replication");
    std::size_t online = 0;
    for (auto at = info.find("state=online"); at != std::string::npos; at = info.find("state=online", at + 1)) ++online;
    return online == replicas;
  });
  for (int i = 0; i < 3; ++i) {
    Process sentinel{pick_free_port(), nullptr, {}};
    const auto config = directory_ / ("sentinel-" + std::to_string(i) + ".conf");
    std::ofstream(config) << "port " << sentinel.port << "\nbind 127.0.0.1\ndir " << directory_.path()
                          << "\nsentinel monitor " << master_name << " 127.0.0.1 " << servers_.front().port
                          << " 2\nsentinel down-after-milliseconds " << master_name << " " << down_after.count()
                          << "\nsentinel failover-timeout " << master_name << " 2000\n";
    sentinel.process = std::make_unique<ChildProcess>(std::vector<std::string>{"redis-server", config, "--sentinel"});
    if (!sentinel.process->wait_for_line(std::regex("\\+monitor master"), 10s)) {
      throw std::runtime_error("redis-sentinel did not start:\n" + sentinel.process->output());
    }
    sentinels_.push_back(std::move(sentinel));
  }
  // Each sentinel knows the replicas and the two other sentinels: a failover can happen.
  for (const auto& sentinel : sentinels_) {
    wait_until("the sentinels to know each other and the replicas", 15s, [&] {
      const auto fields = cli(sentinel.port, std::string("SENTINEL master ") + master_name);
      return fields.find("num-slaves\n" + std::to_string(replicas) + "\n") != std::string::npos &&
             fields.find("num-other-sentinels\n2\n") != std::string::npos;
    });
  }
}

RedisSentinelGroup::~RedisSentinelGroup() = default;

std::unique_ptr<ChildProcess> RedisSentinelGroup::start_server(const std::vector<std::string>& argv) {
  auto process = std::make_unique<ChildProcess>(argv);
  if (!process->wait_for_line(std::regex("[Rr]eady to accept connections"), 10s)) {
    throw std::runtime_error("redis-server did not start:\n" + process->output());
  }
  return process;
}

void RedisSentinelGroup::restart_server(std::uint16_t port) {
  for (auto& server : servers_) {
    if (server.port == port && !server.process) server.process = start_server(server.argv);
  }
}

std::string RedisSentinelGroup::address() const {
  std::string text = "redis-sentinel://";
  for (std::size_t i = 0; i < sentinels_.size(); ++i) {
    text += (i > 0 ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(sentinels_[i].port);
  }
  return text + "/" + master_name;
}

std::string RedisSentinelGroup::cli(std::uint16_t port, const std::string& arguments) const {
  auto ran = run_to_exit({"sh", "-c", "redis-cli -h 127.0.0.1 -p " + std::to_string(port) + " " + arguments});
  while (!ran.output.empty() && ran.output.back() == '\n') ran.output.pop_back();
  return ran.output;
}

std::optional<std::uint16_t> RedisSentinelGroup::primary_port() const {
  for (const auto& sentinel : sentinels_) {
    if (!sentinel.process) continue;
    const auto answer = cli(sentinel.port, std::string("SENTINEL get-master-addr-by-name ") + master_name);
    std::smatch match;
    if (std::regex_search(answer, match, std::regex(R"(\n(\d+)$)"))) return std::stoi(match[1]);
  }
  return std::nullopt;
}

void RedisSentinelGroup::kill_server(std::uint16_t port) {
  for (auto& server : servers_) {
    if (server.port != port || !server.process) continue;
    server.process->signal(SIGKILL);
    server.process->wait_exit(5s);
    server.process.reset();
  }
}

std::optional<std::uint16_t> RedisSentinelGroup::wait_for_new_primary(std::uint16_t old_port,
                                                                      std::chrono::milliseconds timeout) {
  std::optional<std::uint16_t> found;
  try {
    wait_until("a new primary", timeout, [&] {
      found = primary_port();
      return found && *found != old_port;
    });
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
  return found;
}

void RedisSentinelGroup::wait_until(const std::string& what, std::chrono::milliseconds timeout,
                                    const std::function<bool()>& done) const {
  // Polled: Redis announces these over its own pub/sub, which a test would have to
  // subscribe to first; the deadline bounds it.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("timed out waiting for " + what);
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace corral::test
