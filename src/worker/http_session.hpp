#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/router.hpp"

namespace corral {

class Worker;

// One client connection: HTTP/1.1 with keep-alive and pipelining (requests are answered
// one after the other, in order), header and body limits, and a timeout on every wait.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket socket, Worker& worker);
  ~HttpSession();

  void start();
  // The worker stops: close now if idle between requests, else after this response.
  void drain();

 private:
  enum class Phase { waiting, reading, handling, writing, closing, closed };

  void wait_for_next_request();
  void read_request();
  void on_read(const boost::system::error_code& error);
  void handle_request();
  void send(http::Response response);
  void send_error(int status, std::string body);
  void on_write(const boost::system::error_code& error);
  void linger_then_close();
  void discard_until_eof();
  void close();
  // Runs `on_expiry` after `timeout` unless the session moved on (or re-armed) before.
  void arm_timer(std::chrono::milliseconds timeout, std::function<void()> on_expiry);

  boost::asio::ip::tcp::socket socket_;
  Worker& worker_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::string out_;  // the response being written; its capacity is reused
  boost::asio::steady_timer timer_;
  std::uint64_t timer_epoch_ = 0;
  Phase phase_ = Phase::reading;
  unsigned request_version_ = 11;
  bool head_request_ = false;
  bool close_after_response_ = false;
  bool read_timed_out_ = false;
};

}  // namespace corral
