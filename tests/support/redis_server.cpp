#include "support/redis_server.hpp"

#include <signal.h>

#include <regex>
#include <stdexcept>

namespace corral::test {

RedisServer::RedisServer() : socket_(directory_ / "redis.sock") {
  // hiredis writes with write(), not send(MSG_NOSIGNAL): a write to a connection this
  // server has just closed would end the test process. corral's workers and its
  // supervisor ignore SIGPIPE (worker.cpp, signal_reader.cpp); so does a test that
  // talks to Redis as they do.
  ::signal(SIGPIPE, SIG_IGN);
  start();
}

RedisServer::~RedisServer() {
  if (process_) stop();
}

void RedisServer::start() {
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{
      "redis-server", "--port", "0", "--unixsocket", socket_, "--unixsocketperm", "700", "--dir", directory_.path(),
      "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--loglevel", "notice",
      // DEBUG for the tests that turn off active expiry (the server is their own).
      "--enable-debug-command", "local"});
  if (!process_->wait_for_line(std::regex("[Rr]eady to accept connections"), 10s)) {
    throw std::runtime_error("redis-server did not start:\n" + process_->output());
  }
}

void RedisServer::signal(int signal) {
  process_->signal(signal);
}

void RedisServer::stop() {
  process_->signal(SIGTERM);
  if (!process_->wait_exit(10s)) throw std::runtime_error("redis-server did not stop:\n" + process_->output());
  process_.reset();
}

}  // namespace corral::test
