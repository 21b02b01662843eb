#include "worker/http_session.hpp"

#include <array>

#include <boost/asio/socket_base.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "http/response_writer.hpp"
#include "worker/worker.hpp"

namespace corral {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

// After an error response, keep reading (and discarding) for this long before closing,
// so that unread request bytes do not make the kernel reset the connection before the
// client has read our answer (nginx's lingering close).
constexpr auto linger_timeout = std::chrono::milliseconds(1000);
// A worker that starts draining gives idle keep-alive connections this long to send one
// more request (answered with Connection: close) before it closes them: a busy client
// has usually sent its next request already, and would otherwise see its connection
// close under it.
constexpr auto drain_idle_grace = std::chrono::milliseconds(1000);

// What a lingering close reads is thrown away: one buffer serves every session (the
// worker has one thread), rather than 4 KiB held by each idle connection.
std::array<char, 4096> discarded;

// What an idle connection reads into first: enough for a typical request (Beast reads
// the rest of a larger one), small because ten thousand idle connections hold one each.
constexpr std::size_t first_read = 512;
// A buffer that grew past this for a large request is given back when the connection
// goes idle.
constexpr std::size_t idle_buffer_limit = 4096;

bool is_parse_error(const error_code& error) {
  return error && error.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

int status_for_parse_error(const error_code& error) {
  if (error == bhttp::error::header_limit) return 431;
  if (error == bhttp::error::body_limit) return 413;
  return 400;
}

std::string_view reason_body(int status) {
  switch (status) {
    case 400: return "Bad Request\n";
    case 408: return "Request Timeout\n";
    case 413: return "Content Too Large\n";
    case 431: return "Request Header Fields Too Large\n";
    default: return "Error\n";
  }
}

}  // namespace

HttpSession::HttpSession(asio::ip::tcp::socket socket, Worker& worker)
    : socket_(std::move(socket)), worker_(worker), timer_(socket_.get_executor()) {}

HttpSession::~HttpSession() {
  worker_.remove_session(this);
}

void HttpSession::start() {
  worker_.add_session(this);
  // A new connection is read at once: its client is about to send the first request.
  read_request();
}

void HttpSession::drain() {
  close_after_response_ = true;
  if (phase_ == Phase::waiting) arm_timer(drain_idle_grace, [this] { close(); });
}

void HttpSession::arm_timer(std::chrono::milliseconds timeout, std::function<void()> on_expiry) {
  const auto epoch = ++timer_epoch_;
  timer_.expires_after(timeout);
  timer_.async_wait([self = shared_from_this(), epoch, on_expiry = std::move(on_expiry)](const error_code& error) {
    if (!error && epoch == self->timer_epoch_ && self->phase_ != Phase::closed) on_expiry();
  });
}

void HttpSession::wait_for_next_request() {
  if (close_after_response_ || worker_.draining()) {
    close();
    return;
  }
  phase_ = Phase::waiting;
  // Idle connections keep as little as possible: no parser, a small buffer.
  parser_.reset();
  if (buffer_.capacity() > idle_buffer_limit) buffer_.shrink_to_fit();
  arm_timer(worker_.limits().keepalive_timeout, [this] { close(); });
  // A read, not async_wait(): Asio tries a read at once (the next request is often
  // there already) and re-arms epoll only if it must, where a wait always re-arms it.
  socket_.async_read_some(buffer_.prepare(first_read), [self = shared_from_this()](const error_code& error,
                                                                                   std::size_t bytes) {
    if (self->phase_ != Phase::waiting) return;
    if (error) {
      self->close();
      return;
    }
    self->buffer_.commit(bytes);
    self->read_request();
  });
}

void HttpSession::read_request() {
  phase_ = Phase::reading;
  read_timed_out_ = false;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(worker_.limits().max_header_bytes));
  parser_->body_limit(worker_.limits().max_body_bytes);
  arm_timer(worker_.limits().request_timeout, [this] {
    read_timed_out_ = true;
    error_code ignored;
    socket_.cancel(ignored);
  });
  bhttp::async_read(socket_, buffer_, *parser_,
                    [self = shared_from_this()](const error_code& error, std::size_t) { self->on_read(error); });
}

void HttpSession::on_read(const error_code& error) {
  if (phase_ != Phase::reading) return;
  ++timer_epoch_;
  timer_.cancel();
  if (read_timed_out_) {
    // Silence is an idle client going away; a partial request gets its 408.
    if (parser_->got_some() || buffer_.size() > 0) {
      send_error(408, std::string(reason_body(408)));
    } else {
      close();
    }
    return;
  }
  if (error == bhttp::error::end_of_stream || error == asio::error::eof) {
    if (parser_->got_some()) {
      send_error(400, std::string(reason_body(400)));
    } else {
      close();
    }
    return;
  }
  if (is_parse_error(error)) {
    const int status = status_for_parse_error(error);
    spdlog::debug("rejected a request with {}: {}", status, error.message());
    send_error(status, std::string(reason_body(status)));
    return;
  }
  if (error) {
    close();
    return;
  }
  handle_request();
}

void HttpSession::handle_request() {
  phase_ = Phase::handling;
  const auto& request = parser_->get();
  request_version_ = request.version();
  head_request_ = request.method() == bhttp::verb::head;
  if (!request.keep_alive() || worker_.limits().keepalive_timeout.count() == 0) close_after_response_ = true;

  const auto hosts = request.count(bhttp::field::host);
  if ((request_version_ >= 11 && hosts == 0) || hosts > 1) {
    send_error(400, hosts == 0 ? "Bad Request: HTTP/1.1 needs a Host header\n"
                               : "Bad Request: more than one Host header\n");
    return;
  }

  const auto method = request.method_string();
  const auto target = request.target();
  const http::Request view{{method.data(), method.size()}, {target.data(), target.size()}};
  http::Response response;
  worker_.count_request();
  try {
    worker_.router().dispatch(view, response);
  } catch (const std::exception& exception) {
    if (!response.produced()) response = http::Response::text(500, "Internal Server Error\n");
    worker_.on_handler_exception(exception.what());
  } catch (...) {
    if (!response.produced()) response = http::Response::text(500, "Internal Server Error\n");
    worker_.on_handler_exception("an exception that is not a std::exception");
  }

  if (response.delay.count() > 0) {
    auto delay = response.delay;
    arm_timer(delay, [this, response = std::move(response)]() mutable { send(std::move(response)); });
    return;
  }
  send(std::move(response));
}

void HttpSession::send_error(int status, std::string body) {
  close_after_response_ = true;
  head_request_ = false;
  send(http::Response::text(status, std::move(body)));
}

void HttpSession::send(http::Response response) {
  phase_ = Phase::writing;
  if (worker_.draining()) close_after_response_ = true;
  http::write_response(response, request_version_, !close_after_response_, head_request_, worker_.date_header(),
                       out_);
  arm_timer(worker_.limits().send_timeout, [this] { close(); });
  asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](const error_code& error, std::size_t) {
    self->on_write(error);
  });
}

void HttpSession::on_write(const error_code& error) {
  if (phase_ != Phase::writing) return;
  ++timer_epoch_;
  timer_.cancel();
  if (error) {
    close();
    return;
  }
  if (close_after_response_ || worker_.draining()) {
    linger_then_close();
    return;
  }
  if (buffer_.size() > 0) {
    read_request();  // a pipelined request is already here
  } else {
    wait_for_next_request();
  }
}

void HttpSession::linger_then_close() {
  phase_ = Phase::closing;
  error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_send, ignored);
  arm_timer(linger_timeout, [this] { close(); });
  discard_until_eof();
}

void HttpSession::discard_until_eof() {
  socket_.async_read_some(asio::buffer(discarded), [self = shared_from_this()](const error_code& error, std::size_t) {
    if (self->phase_ != Phase::closing) return;
    if (error) {
      self->close();
    } else {
      self->discard_until_eof();
    }
  });
}

void HttpSession::close() {
  if (phase_ == Phase::closed) return;
  phase_ = Phase::closed;
  ++timer_epoch_;
  timer_.cancel();
  error_code ignored;
  socket_.close(ignored);
}

}  // namespace corral
