#include "support/load_generator.hpp"

#include <cerrno>
#include <chrono>
#include <memory>

#include "support/http_client.hpp"

namespace corral::test {
namespace {

constexpr auto response_timeout = std::chrono::seconds(15);
// Bounded whatever the test does: no client runs longer than this.
constexpr auto longest_run = std::chrono::minutes(5);

}  // namespace

LoadGenerator::LoadGenerator(std::uint16_t port, std::string target, unsigned keepalive, unsigned fresh)
    : port_(port),
      request_("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
      started_(std::chrono::steady_clock::now()) {
  for (unsigned i = 0; i < keepalive; ++i) clients_.emplace_back([this] { keepalive_client(); });
  for (unsigned i = 0; i < fresh; ++i) clients_.emplace_back([this] { fresh_client(); });
}

LoadGenerator::~LoadGenerator() {
  stop();
}

LoadStats LoadGenerator::stop() {
  stopping_ = true;
  for (auto& client : clients_) {
    if (client.joinable()) client.join();
  }
  LoadStats stats;
  stats.requests = requests_;
  stats.succeeded = succeeded_;
  stats.failed = failed_;
  stats.refused = refused_;
  stats.retried = retried_;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  std::lock_guard lock(failure_mutex_);
  stats.first_failure = first_failure_;
  return stats;
}

void LoadGenerator::note_failure(const std::string& what) {
  const auto at = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  std::lock_guard lock(failure_mutex_);
  if (first_failure_.empty()) first_failure_ = what + " at " + std::to_string(at) + " s";
}

namespace {

std::string describe_answer(const std::optional<HttpResponse>& response) {
  if (!response) return "no complete answer within " + std::to_string(response_timeout.count()) + " s or a closed connection";
  return "status " + std::to_string(response->status);
}

}  // namespace

void LoadGenerator::keepalive_client() {
  std::unique_ptr<RawConnection> connection;
  bool reused = false;
  const auto give_up = started_ + longest_run;
  while (!stopping_ && std::chrono::steady_clock::now() < give_up) {
    if (!connection) {
      try {
        connection = std::make_unique<RawConnection>(port_);
      } catch (const ConnectError& error) {
        ++requests_;
        ++(error.error == ECONNREFUSED ? refused_ : failed_);
        note_failure(std::string("keep-alive client: ") + error.what());
        continue;
      }
      reused = false;
    }
    std::optional<HttpResponse> response;
    std::string error;
    try {
      connection->send(request_);
      response = connection->read_response(response_timeout);
    } catch (const std::exception& exception) {
      error = exception.what();
    }
    if (!response && reused && connection->unread().empty()) {
      ++retried_;  // the server closed an idle connection: same request, new connection
      connection.reset();
      continue;
    }
    ++requests_;
    if (response && response->status == 200) {
      ++succeeded_;
      reused = true;
      if (response->header("connection") == "close") connection.reset();
    } else {
      ++failed_;
      note_failure("keep-alive client" + std::string(reused ? " (reused connection)" : "") + ": " +
                   (error.empty() ? describe_answer(response) : error));
      connection.reset();
    }
  }
}

void LoadGenerator::fresh_client() {
  const auto give_up = started_ + longest_run;
  while (!stopping_ && std::chrono::steady_clock::now() < give_up) {
    ++requests_;
    try {
      RawConnection connection(port_);
      connection.send(request_.substr(0, request_.size() - 2) + "Connection: close\r\n\r\n");
      const auto response = connection.read_response(response_timeout);
      if (response && response->status == 200) {
        ++succeeded_;
      } else {
        ++failed_;
        note_failure("fresh client: " + describe_answer(response));
      }
    } catch (const ConnectError& error) {
      ++(error.error == ECONNREFUSED ? refused_ : failed_);
      note_failure(std::string("fresh client: ") + error.what());
    } catch (const std::exception& error) {
      ++failed_;
      note_failure(std::string("fresh client: ") + error.what());
    }
  }
}

}  // namespace corral::test
