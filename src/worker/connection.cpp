#include "worker/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <spdlog/spdlog.h>

#include "http/response_writer.hpp"
#include "worker/worker.hpp"

namespace corral {
namespace {

namespace bhttp = boost::beast::http;

// Answers to pipelined requests collect up to this much before they are sent.
constexpr std::size_t coalesce_limit = 64 * 1024;
// A buffer that grew past this for a large request or answer is given back when the
// connection goes idle: ten thousand idle connections hold one each.
constexpr std::size_t idle_buffer_limit = 4096;

bool would_block(int error) {
  return error == EAGAIN || error == EWOULDBLOCK;
}

}  // namespace

struct Connection::Delayed {
  explicit Delayed(EventLoop& loop) : timer(loop) {}
  Timer timer;
  http::Response response;
};

Connection::Connection(Worker& worker, UniqueFd socket) : worker_(worker), socket_(std::move(socket)) {
  // Each answer goes out in one send(); without this, an answer sent while the client
  // has not yet acknowledged the previous one would wait for its delayed ACK.
  const int on = 1;
  ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  worker_.loop().add(socket_.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, *this);
  // The first request is on its way; it has the request timeout from now. Not read
  // yet: it has rarely arrived by the time of the accept, and its arrival is an event.
  phase_ = Phase::reading;
  request_deadline_set_ = true;
  worker_.deadlines().request.set(*this);
}

Connection::~Connection() = default;

void Connection::on_events(std::uint32_t events) {
  if (phase_ == Phase::closed) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) writable_ = true;
  advance();
}

void Connection::drain() {
  close_after_response_ = true;
  // An idle client may have sent its next request already; it gets a short grace.
  if (phase_ == Phase::waiting) worker_.deadlines().drain_grace.set(*this);
}

void Connection::on_deadline() {
  switch (phase_) {
    case Phase::reading:
      // Silence is a client going away; a partial request gets its 408.
      if (parser_ || !in_.empty()) {
        reject(408);
        advance();
      } else {
        close();
      }
      return;
    case Phase::waiting:
    case Phase::writing:
    case Phase::lingering:
      close();
      return;
    case Phase::delayed:
    case Phase::closed:
      return;
  }
}

void Connection::advance() {
  for (;;) {
    if (phase_ == Phase::closed || phase_ == Phase::delayed) return;
    if (phase_ == Phase::lingering) {
      discard_input();
      return;
    }
    if (!out_.empty()) {
      if (!flush()) {
        if (phase_ == Phase::closed) return;
        if (phase_ != Phase::writing) {
          phase_ = Phase::writing;
          worker_.deadlines().send.set(*this);
        }
        return;
      }
      if (phase_ == Phase::writing) phase_ = Phase::reading;
      if (last_response_) {
        finish();
        continue;
      }
    }
    if (!in_.empty() && !need_more_) {
      const auto used = consume(in_);
      in_.erase(0, used);
      continue;
    }
    if (!readable_) {
      wait_for_input();
      return;
    }
    receive();
  }
}

void Connection::receive() {
  const auto buffer = worker_.read_buffer();
  const ssize_t received = ::recv(socket_.get(), buffer.data(), buffer.size(), 0);
  if (received < 0) {
    if (would_block(errno)) {
      readable_ = false;
    } else if (errno != EINTR) {
      close();  // reset by the peer
    }
    return;
  }
  if (received == 0) {
    on_peer_closed();
    return;
  }
  // A short read emptied the socket: the next bytes to arrive are a new edge.
  if (static_cast<std::size_t>(received) < buffer.size()) readable_ = false;
  const std::string_view data(buffer.data(), static_cast<std::size_t>(received));
  if (!in_.empty()) {
    in_.append(data);
    need_more_ = false;
    return;
  }
  // Usually a whole request: parsed where it was read, nothing copied.
  const auto used = consume(data);
  if (used < data.size() && phase_ != Phase::closed) in_.assign(data.substr(used));
}

std::size_t Connection::consume(std::string_view data) {
  std::size_t used = 0;
  need_more_ = false;
  while (phase_ == Phase::waiting || phase_ == Phase::reading) {
    if (last_response_ || out_.size() >= coalesce_limit) break;
    if (used == data.size()) {
      need_more_ = parser_.has_value();
      break;
    }
    if (!parser_) {
      parser_.emplace(worker_.limits());
      phase_ = Phase::reading;
    }
    boost::beast::error_code error;
    const auto parsed = parser_->put(boost::asio::const_buffer(data.data() + used, data.size() - used), error);
    used += parsed;
    if (error == bhttp::error::need_more || (!error && parsed == 0 && !parser_->is_done())) {
      need_more_ = true;
      break;
    }
    if (error) {
      const int status = status_for_parse_error(error);
      spdlog::debug("rejected a request with {}: {}", status, error.message());
      reject(status);
      break;
    }
    if (!parser_->is_done()) continue;  // everything was used: the loop ends above
    handle_request();
  }
  return used;
}

void Connection::handle_request() {
  const RequestParser& request = *parser_;
  version_ = request.version();
  head_request_ = request.verb() == bhttp::verb::head;
  request_deadline_set_ = false;
  clear_deadline();
  if (!request.keep_alive() || worker_.limits().keepalive_timeout.count() == 0) close_after_response_ = true;

  const auto hosts = request.host_fields();
  if ((version_ >= 11 && hosts == 0) || hosts > 1) {
    reject(400, hosts == 0 ? "Bad Request: HTTP/1.1 needs a Host header\n" : "Bad Request: more than one Host header\n");
    return;
  }

  http::Response response;
  worker_.count_request();
  try {
    worker_.router().dispatch(http::Request{request.method(), request.target()}, response);
  } catch (const std::exception& exception) {
    if (!response.produced()) response = http::Response::text(500, "Internal Server Error\n");
    worker_.on_handler_exception(exception.what());
  } catch (...) {
    if (!response.produced()) response = http::Response::text(500, "Internal Server Error\n");
    worker_.on_handler_exception("an exception that is not a std::exception");
  }
  parser_.reset();

  if (response.delay.count() > 0) {
    if (!delayed_) delayed_ = std::make_unique<Delayed>(worker_.loop());
    const auto delay = response.delay;
    delayed_->response = std::move(response);
    phase_ = Phase::delayed;
    delayed_->timer.expires_after(delay, [this] {
      phase_ = Phase::reading;
      respond(delayed_->response);
      advance();
    });
    return;
  }
  respond(response);
}

void Connection::respond(const http::Response& response) {
  if (worker_.draining()) close_after_response_ = true;
  http::write_response(response, version_, !close_after_response_, head_request_, worker_.date_header(), out_);
  if (close_after_response_) last_response_ = true;
}

void Connection::reject(int status, std::string body) {
  if (body.empty()) body = std::string(http::reason_phrase(status)) + "\n";
  close_after_response_ = true;
  // The rest of a rejected request may still be on its way.
  linger_ = true;
  head_request_ = false;
  parser_.reset();
  request_deadline_set_ = false;
  clear_deadline();
  phase_ = Phase::reading;
  respond(http::Response::text(status, std::move(body)));
}

bool Connection::flush() {
  if (!writable_) return false;
  while (sent_ < out_.size()) {
    const ssize_t written = ::send(socket_.get(), out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
    if (written < 0) {
      if (would_block(errno)) {
        writable_ = false;
      } else if (errno != EINTR) {
        close();  // the peer is gone
      }
      if (phase_ == Phase::closed || !writable_) return false;
      continue;
    }
    sent_ += static_cast<std::size_t>(written);
  }
  out_.clear();
  sent_ = 0;
  return true;
}

void Connection::wait_for_input() {
  if (parser_ || !in_.empty() || request_deadline_set_) {
    // Inside a request: its deadline runs from its first bytes and is not extended by
    // each read, so a client trickling bytes cannot hold the connection.
    phase_ = Phase::reading;
    if (!request_deadline_set_) {
      request_deadline_set_ = true;
      worker_.deadlines().request.set(*this);
    }
    return;
  }
  if (phase_ == Phase::waiting) return;
  phase_ = Phase::waiting;
  // Idle connections keep as little as possible.
  if (in_.capacity() > idle_buffer_limit) std::string().swap(in_);
  if (out_.capacity() > idle_buffer_limit) std::string().swap(out_);
  if (close_after_response_) {
    worker_.deadlines().drain_grace.set(*this);
  } else {
    worker_.deadlines().keepalive.set(*this);
  }
}

void Connection::on_peer_closed() {
  readable_ = false;
  peer_closed_ = true;
  if (parser_ || !in_.empty()) {
    // The client ended in the middle of a request; it may still read the answer.
    in_.clear();
    reject(400);
  } else {
    close();
  }
}

void Connection::finish() {
  if (peer_closed_ || (!linger_ && in_.empty() && !parser_)) {
    close();
    return;
  }
  // nginx's lingering close: closing with unread bytes would make the kernel reset the
  // connection, and the reset can destroy the answer before the client has read it.
  // So the sending side is shut and the rest is read and dropped, for a while.
  ::shutdown(socket_.get(), SHUT_WR);
  phase_ = Phase::lingering;
  in_.clear();
  parser_.reset();
  worker_.deadlines().linger.set(*this);
  discard_input();
}

void Connection::discard_input() {
  const auto buffer = worker_.read_buffer();
  while (readable_) {
    const ssize_t received = ::recv(socket_.get(), buffer.data(), buffer.size(), 0);
    if (received > 0) {
      if (static_cast<std::size_t>(received) < buffer.size()) readable_ = false;
    } else if (received == 0 || !(would_block(errno) || errno == EINTR)) {
      close();
      return;
    } else if (would_block(errno)) {
      readable_ = false;
    }
  }
}

void Connection::close() {
  if (phase_ == Phase::closed) return;
  phase_ = Phase::closed;
  clear_deadline();
  if (delayed_) delayed_->timer.cancel();
  socket_.reset();  // also leaves the epoll set
  worker_.on_connection_closed(*this);
}

}  // namespace corral
