#include "support/client_loop.hpp"

#include <chrono>
#include <exception>

#include "support/http_client.hpp"

namespace corral::test {

ClientLoop::ClientLoop(std::uint16_t port) : thread_([this, port] { run(port); }) {}

ClientLoop::~ClientLoop() {
  stop();
}

void ClientLoop::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> ClientLoop::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

void ClientLoop::run(std::uint16_t port) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (!stopping_ && std::chrono::steady_clock::now() < give_up) {
    std::string failure;
    try {
      const auto response = http_request(port, "GET", "/", std::chrono::seconds(5));
      if (!response) {
        failure = "no complete response";
      } else if (response->status != 200) {
        failure = "status " + std::to_string(response->status);
      }
    } catch (const std::exception& error) {
      failure = error.what();
    }
    if (failure.empty()) {
      ++succeeded_;
    } else {
      ++failed_;
      std::lock_guard lock(mutex_);
      failures_.push_back(failure);
    }
  }
}

}  // namespace corral::test
