#pragma once

#include <memory>
#include <string>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace corral::test {

// A real redis-server (Debian's) of the test's own: on a unix socket in a temp
// directory, no TCP port. Every write is in its append-only file, fsynced, so a restart
// keeps what it acknowledged.
class RedisServer {
 public:
  RedisServer();  // started, accepting connections
  ~RedisServer();

  const std::string& socket_path() const { return socket_; }
  // corral's --store value: "unix:///tmp/.../redis.sock".
  std::string address() const { return "unix://" + socket_; }

  // Sends `signal` (SIGSTOP: a server that answers nothing, SIGCONT: back).
  void signal(int signal);

  // Shuts down (SIGTERM: Redis finishes writing) and waits for the exit.
  void stop();
  // Starts again on the same socket and data.
  void start();

 private:
  TempDir directory_;
  std::string socket_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace corral::test
