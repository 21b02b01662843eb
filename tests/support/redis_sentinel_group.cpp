#include "support/redis_sentinel_group.hpp"

#include <signal.h>

#include <fstream>
#include <regex>
#include <stdexcept>

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
  if (!servers_.front().process->wait_for_lines(std::regex("Synchronization with replica .* succeeded"), replicas,
                                                 10s)) {
    throw std::runtime_error("the replicas did not sync:\n" + servers_.front().process->output());
  }
  std::string command;
  for (int i = 0; i < 3; ++i) {
    sentinel_ports_.push_back(pick_free_port());
    const auto config = directory_ / ("sentinel-" + std::to_string(i) + ".conf");
    std::ofstream(config) << "port " << sentinel_ports_.back() << "\nbind 127.0.0.1\ndir " << directory_.path()
                          << "\nsentinel monitor " << master_name << " 127.0.0.1 " << servers_.front().port
                          << " 2\nsentinel down-after-milliseconds " << master_name << " " << down_after.count()
                          << "\nsentinel failover-timeout " << master_name << " 2000\n";
    command += "redis-server " + config + " --sentinel & ";
  }
  sentinels_ = std::make_unique<ChildProcess>(std::vector<std::string>{"sh", "-c", command + "wait"});
  // Each sentinel knows the replicas and the two other sentinels: a failover can happen.
  const std::pair<const char*, unsigned> ready[] = {
      {"\\+monitor master", 3}, {"\\+slave slave", 3 * replicas}, {"\\+sentinel sentinel", 3 * 2}};
  for (const auto& [line, count] : ready) {
    if (!sentinels_->wait_for_lines(std::regex(line), count, 15s)) {
      throw std::runtime_error(std::string("the sentinels did not log ") + line + " " + std::to_string(count) +
                               " times:\n" + sentinels_->output());
    }
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

RedisSentinelGroup::Process* RedisSentinelGroup::server(std::uint16_t port) {
  for (auto& server : servers_) {
    if (server.port == port) return &server;
  }
  throw std::invalid_argument("no server on port " + std::to_string(port));
}

void RedisSentinelGroup::restart_server(std::uint16_t port) {
  auto* found = server(port);
  if (!found->process) found->process = start_server(found->argv);
}

std::string RedisSentinelGroup::address() const {
  std::string text = "redis-sentinel://";
  for (std::size_t i = 0; i < sentinel_ports_.size(); ++i) {
    text += (i > 0 ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(sentinel_ports_[i]);
  }
  return text + "/" + master_name;
}

std::string RedisSentinelGroup::cli(std::uint16_t port, const std::string& arguments) const {
  auto ran = run_to_exit({"sh", "-c", "redis-cli -h 127.0.0.1 -p " + std::to_string(port) + " " + arguments});
  while (!ran.output.empty() && ran.output.back() == '\n') ran.output.pop_back();
  return ran.output;
}

std::optional<std::uint16_t> RedisSentinelGroup::primary_port() const {
  for (const auto port : sentinel_ports_) {
    const auto answer = cli(port, std::string("SENTINEL get-master-addr-by-name ") + master_name);
    std::smatch match;
    if (std::regex_search(answer, match, std::regex(R"(\n(\d+)$)"))) return std::stoi(match[1]);
  }
  return std::nullopt;
}

void RedisSentinelGroup::kill_server(std::uint16_t port) {
  auto* found = server(port);
  if (!found->process) return;
  found->process->signal(SIGKILL);
  found->process->wait_exit(5s);
  found->process.reset();
}

void RedisSentinelGroup::pause_server(std::uint16_t port) {
  if (auto* found = server(port); found->process) found->process->signal(SIGSTOP);
}

void RedisSentinelGroup::resume_server(std::uint16_t port) {
  if (auto* found = server(port); found->process) found->process->signal(SIGCONT);
}

std::size_t RedisSentinelGroup::mark() const { return sentinels_->line_count(); }

std::optional<std::uint16_t> RedisSentinelGroup::wait_for_new_primary(std::uint16_t old_port,
                                                                      std::chrono::milliseconds timeout,
                                                                      std::size_t from) {
  const auto switched = sentinels_->wait_for_line(
      std::regex(std::string("\\+switch-master ") + master_name + " 127\\.0\\.0\\.1 " + std::to_string(old_port) +
                 " 127\\.0\\.0\\.1 (\\d+)"),
      timeout, from);
  if (!switched) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoi(switched->at(1)));
}

bool RedisSentinelGroup::wait_until_replica(std::uint16_t port, std::chrono::milliseconds timeout) {
  auto* found = server(port);
  return found->process && found->process->wait_for_line(std::regex("REPLICAOF [0-9.]+:\\d+ enabled"), timeout);
}

}  // namespace corral::test
