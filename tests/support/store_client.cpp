#include "support/store_client.hpp"

#include <memory>
#include <stdexcept>

namespace corral::test {

std::string request_text(const std::string& method, const std::string& target, const std::string& cookie,
                         const std::string& form, bool close) {
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: test\r\n";
  if (close) text += "Connection: close\r\n";
  if (!cookie.empty()) text += "Cookie: " + cookie + "\r\n";
  if (method == "POST") {
    text += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(form.size()) +
            "\r\n";
  }
  return text + "\r\n" + form;
}

HttpResponse exchange(std::uint16_t port, const std::string& method, const std::string& target,
                      const std::string& cookie, const std::string& form) {
  RawConnection connection(port);
  connection.send(request_text(method, target, cookie, form, true));
  auto response = connection.read_response(std::chrono::seconds(10));
  if (!response) throw std::runtime_error(method + " " + target + ": no response");
  return *response;
}

std::string session_cookie(const HttpResponse& response) {
  const auto field = response.header("set-cookie");
  return field.substr(0, field.find(';'));
}

std::string log_in(std::uint16_t port, const std::string& user) {
  const auto response = exchange(port, "POST", "/login", "", "user=" + user);
  const auto cookie = session_cookie(response);
  if (response.status != 200 || !cookie.starts_with("corral_session=")) {
    throw std::runtime_error("POST /login: " + std::to_string(response.status) + " " + response.body +
                             ", Set-Cookie: " + response.header("set-cookie"));
  }
  return cookie;
}

std::int64_t visits(std::uint16_t port) {
  const auto response = exchange(port, "GET", "/visits");
  if (response.status != 200) {
    throw std::runtime_error("GET /visits: " + std::to_string(response.status) + " " + response.body);
  }
  return std::stoll(response.body);
}

VisitLoad::VisitLoad(std::uint16_t port, unsigned clients, std::uint64_t per_client) {
  for (unsigned i = 0; i < clients; ++i) {
    threads_.emplace_back([this, port, per_client] { run(port, per_client); });
  }
}

void VisitLoad::stop() {
  stopping_ = true;
  join();
}

void VisitLoad::join() {
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void VisitLoad::run(std::uint16_t port, std::uint64_t limit) {
  std::unique_ptr<RawConnection> connection;
  for (std::uint64_t sent = 0; !stopping_ && (limit == 0 || sent < limit); ++sent) {
    try {
      if (!connection) connection = std::make_unique<RawConnection>(port);
      ++attempted;
      connection->send(request_text("POST", "/visits", "", "", false));
      const auto response = connection->read_response(std::chrono::seconds(10));
      if (!response) {
        ++other;
        connection.reset();
      } else if (response->status == 200) {
        ++acknowledged;
      } else if (response->status == 503 && !response->header("retry-after").empty()) {
        ++unavailable;
      } else {
        ++other;
      }
    } catch (const std::exception&) {
      ++other;
      connection.reset();
    }
  }
}

}  // namespace corral::test
