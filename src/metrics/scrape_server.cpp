#include "metrics/scrape_server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>


namespace corral::metrics {
namespace {

constexpr std::size_t max_clients = 32;
constexpr std::size_t max_request_bytes = 8192;
constexpr auto idle_limit = std::chrono::seconds(10);

std::string response(int status, std::string_view reason, std::string_view type, std::string_view body,
                     bool head) {
  return fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                     status, reason, type, body.size(), head ? std::string_view() : body);
}

}  // namespace

struct ScrapeServer::Client {
  UniqueFd socket;
  std::string in;
  std::string out;
  bool answered = false;
  Clock::time_point last_active;
};

ScrapeServer::ScrapeServer(UniqueFd listener, Render render)
    : acceptor_(std::move(listener), max_clients), render_(std::move(render)) {}

ScrapeServer::~ScrapeServer() = default;

void ScrapeServer::add_to(std::vector<pollfd>& polled) const {
  acceptor_.add_to(polled, clients_.size());
  for (const auto& client : clients_) {
    polled.push_back(pollfd{client->socket.get(), static_cast<short>(client->answered ? POLLOUT : POLLIN), 0});
  }
}

std::optional<ScrapeServer::Clock::time_point> ScrapeServer::next_deadline() const {
  return acceptor_.next_deadline(clients_, idle_limit);
}

void ScrapeServer::handle(const std::vector<pollfd>& polled, Clock::time_point now) {
  for (const auto& entry : polled) {
    if (entry.revents == 0) continue;
    if (entry.fd == acceptor_.fd()) {
      acceptor_.accept_clients(clients_.size(), now, [&](UniqueFd socket) {
        auto client = std::make_unique<Client>();
        client->socket = std::move(socket);
        client->last_active = now;
        clients_.push_back(std::move(client));
        return true;
      });
      continue;
    }
    for (auto& client : clients_) {
      if (client->socket.get() == entry.fd) serve(*client, now);
    }
  }
  net::PollAcceptor::drop_finished(clients_, now, idle_limit);
}

void ScrapeServer::serve(Client& client, Clock::time_point now) {
  client.last_active = now;
  if (!client.answered) {
    char buffer[4096];
    for (;;) {
      const auto got = ::recv(client.socket.get(), buffer, sizeof buffer, 0);
      if (got < 0 && errno != EAGAIN && errno != EINTR) {
        client.socket = UniqueFd();
        return;
      }
      if (got == 0 && client.in.find("\r\n\r\n") == std::string::npos) {
        client.socket = UniqueFd();  // gone before a whole request
        return;
      }
      if (got <= 0) break;
      client.in.append(buffer, static_cast<std::size_t>(got));
      if (client.in.size() > max_request_bytes) break;
    }
    const auto end = client.in.find("\r\n\r\n");
    if (end == std::string::npos && client.in.size() <= max_request_bytes) return;  // more to come
    const auto request_line = client.in.substr(0, client.in.find("\r\n"));
    const bool head = request_line.starts_with("HEAD ");
    const bool get = request_line.starts_with("GET ");
    const auto path_start = request_line.find(' ') + 1;
    const auto path = request_line.substr(path_start, request_line.find(' ', path_start) - path_start);
    if (end == std::string::npos) {
      client.out = response(431, "Request Header Fields Too Large", "text/plain", "request too large\n", false);
    } else if (!get && !head) {
      client.out = response(405, "Method Not Allowed", "text/plain", "GET /metrics\n", false);
    } else if (path != "/metrics" && !path.starts_with("/metrics?")) {
      client.out = response(404, "Not Found", "text/plain", "the metrics are at /metrics\n", head);
    } else {
      client.out = response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", render_(), head);
    }
    client.answered = true;
  }
  while (!client.out.empty()) {
    const auto sent = ::send(client.socket.get(), client.out.data(), client.out.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      client.socket = UniqueFd();
      return;
    }
    client.out.erase(0, static_cast<std::size_t>(sent));
  }
  ::shutdown(client.socket.get(), SHUT_WR);
  client.socket = UniqueFd();
}

}  // namespace corral::metrics
