#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace corral::test {

// Redis Sentinel as a deployment has it, on loopback ports of the test's own: a
// primary, replicas of it, and three sentinels that agree (quorum 2) on a failover
// after `down_after` without an answer. Real redis-server processes (Debian's); the
// sentinels are redis-server --sentinel. Every wait is on the servers' own log lines
// (a replica in sync, a sentinel's +switch-master), with a deadline.
class RedisSentinelGroup {
 public:
  static constexpr const char* master_name = "corral-test";

  explicit RedisSentinelGroup(unsigned replicas = 2, std::chrono::milliseconds down_after = 1000ms);
  ~RedisSentinelGroup();

  // corral's --store value: "redis-sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/corral-test".
  std::string address() const;
  // The primary's port, as the sentinels name it now (nullopt if they name none).
  std::optional<std::uint16_t> primary_port() const;
  std::uint16_t first_primary_port() const { return servers_.front().port; }
  // kill -9 of the server on `port`.
  void kill_server(std::uint16_t port);
  // SIGSTOP and SIGCONT: a server that is up, with its connections open, but answers
  // nothing (cut off, or paused).
  void pause_server(std::uint16_t port);
  void resume_server(std::uint16_t port);
  // Starts the server on `port` again as it was first started (an administrator
  // bringing back the old primary): the sentinels then make it a replica.
  void restart_server(std::uint16_t port);
  // Where the sentinels' log is now: what waits after an action starts from there.
  std::size_t mark() const;
  std::string sentinel_log() const { return sentinels_->output(); }
  // Waits until a sentinel has announced (+switch-master, logged after `from`) a
  // primary in place of `old_port`; its port.
  std::optional<std::uint16_t> wait_for_new_primary(std::uint16_t old_port, std::chrono::milliseconds timeout,
                                                    std::size_t from = 0);
  // Waits until the server on `port` has been told by a sentinel to replicate (its log
  // says REPLICAOF ... enabled).
  bool wait_until_replica(std::uint16_t port, std::chrono::milliseconds timeout);
  // `redis-cli -p PORT ARGS...`'s output (trimmed).
  std::string cli(std::uint16_t port, const std::string& arguments) const;

 private:
  struct Process {
    std::uint16_t port = 0;
    std::unique_ptr<ChildProcess> process;
    std::vector<std::string> argv;
  };
  static std::unique_ptr<ChildProcess> start_server(const std::vector<std::string>& argv);
  Process* server(std::uint16_t port);

  TempDir directory_;
  std::vector<Process> servers_;  // the first is the primary at the start
  std::vector<std::uint16_t> sentinel_ports_;
  // The three sentinels as one process group: one log, whichever of them says it.
  std::unique_ptr<ChildProcess> sentinels_;
};

}  // namespace corral::test
