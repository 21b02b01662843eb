#include "worker/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <spdlog/spdlog.h>

#include "http/request_access.hpp"
#include "http/response_access.hpp"
#include "http/response_writer.hpp"

namespace corral {
namespace {

namespace bhttp = boost::beast::http;

// Answers to pipelined requests collect up to this much before they are sent.
constexpr std::size_t coalesce_limit = 64 * 1024;
// A buffer that grew past this for a large request or answer is given back when the
// connection goes idle: ten thousand idle connections hold one each.
constexpr std::size_t idle_buffer_limit = 4096;
// After a rejected request, what the client still sends is read and dropped this long
// before closing (nginx's lingering close).
constexpr auto linger_timeout = std::chrono::milliseconds(1000);
// A worker that starts draining gives idle keep-alive connections this long to send one
// more request (answered with Connection: close) before it closes them: a busy client
// has usually sent its next request already, and would otherwise see its connection
// close under it.
constexpr auto drain_idle_grace = std::chrono::milliseconds(1000);

void shrink(std::string& buffer) {
  if (buffer.capacity() > idle_buffer_limit) std::string().swap(buffer);
}

bool would_block(int error) {
  return error == EAGAIN || error == EWOULDBLOCK;
}

}  // namespace

// The link between a deferred answer's Responder and its connection; either side can
// end first.
class Connection::Pending final : public detail::PendingAnswer {
 public:
  explicit Pending(Connection& connection) : connection_(&connection) {}
  // The last Responder copy is gone unanswered.
  ~Pending() override {
    if (auto* connection = std::exchange(connection_, nullptr)) connection->on_deferred_abandoned();
  }
  void answer(Response&& response) override {
    if (auto* connection = std::exchange(connection_, nullptr)) connection->on_deferred_answer(std::move(response));
  }
  bool client_connected() const override { return connection_ != nullptr; }
  void cut() { connection_ = nullptr; }

 private:
  Connection* connection_;
};

ConnectionDeadlines::ConnectionDeadlines(EventLoop& loop, const HttpLimits& limits)
    : keepalive(loop, limits.keepalive_timeout),
      request(loop, limits.request_timeout),
      send(loop, limits.send_timeout),
      linger(loop, linger_timeout),
      drain_grace(loop, drain_idle_grace) {}

Connection::Connection(ConnectionEnvironment& environment, ConnectionOwner& owner, UniqueFd socket)
    : environment_(environment), owner_(owner), socket_(std::move(socket)), request_started_(environment.loop.now()) {
  // Each answer goes out in one send(); without this, an answer sent while the client
  // has not yet acknowledged the previous one would wait for its delayed ACK.
  const int on = 1;
  ::setsockopt(socket_.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  environment_.loop.add(socket_.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, *this);
  detail::RequestAccess::bind(request_, environment_.handler_loop, socket_.get());
  detail::RequestAccess::bind_store(request_, environment_.store);
  // The first request is on its way; it has the request timeout from now. Not read
  // yet: it has rarely arrived by the time of the accept, and its arrival is an event.
  phase_ = Phase::reading;
  request_deadline_set_ = true;
  environment_.deadlines.request.set(*this);
}

Connection::~Connection() {
  if (pending_ != nullptr) pending_->cut();
}

void Connection::on_events(std::uint32_t events) {
  if (phase_ == Phase::closed) return;
  if (phase_ == Phase::deferred && (events & (EPOLLHUP | EPOLLERR))) {
    // The client is gone while its answer is pending: Responder::pending() turns
    // false, and the connection's memory is freed now rather than when (if) the
    // application answers.
    close();
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable_ = true;
  if (events & (EPOLLRDHUP | EPOLLHUP)) peer_half_closed_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) writable_ = true;
  advance();
}

void Connection::drain() {
  close_after_response_ = true;
  // An idle client may have sent its next request already; it gets a short grace.
  if (phase_ == Phase::waiting) environment_.deadlines.drain_grace.set(*this);
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
    case Phase::deferred:
    case Phase::closed:
      return;
  }
}

void Connection::advance() {
  for (;;) {
    if (phase_ == Phase::closed || phase_ == Phase::deferred) return;
    if (phase_ == Phase::lingering) {
      discard_input();
      return;
    }
    if (!out_.empty()) {
      if (!flush()) {
        if (phase_ == Phase::closed) return;
        if (phase_ != Phase::writing) {
          phase_ = Phase::writing;
          environment_.deadlines.send.set(*this);
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
  const auto buffer = environment_.read_buffer;
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
  // A short read emptied the socket: the next bytes to arrive are a new edge. But a
  // FIN that came with the bytes is no new edge: then read once more, to see it.
  if (static_cast<std::size_t>(received) < buffer.size() && !peer_half_closed_) readable_ = false;
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
      detail::RequestAccess::reset(request_);
      parser_.emplace(environment_.limits, request_);
      request_started_ = environment_.loop.now();
      expectation_answered_ = false;
      phase_ = Phase::reading;
    }
    boost::beast::error_code error;
    const auto parsed = parser_->feed(data.substr(used), error);
    used += parsed;
    if ((!error || error == bhttp::error::need_more) && parser_->expects_continue() && !expectation_answered_ &&
        parser_->is_header_done() && !parser_->is_done()) {
      answer_expectation();
      if (!parser_) break;  // refused: the connection's last answer
    }
    if (error == bhttp::error::need_more || (!error && parsed == 0 && !parser_->is_done())) {
      need_more_ = true;
      break;
    }
    if (error) {
      version_ = parser_->version();
      const int status = status_for_parse_error(*parser_, error);
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
  const RequestParser& parser = *parser_;
  version_ = parser.version();
  head_request_ = parser.verb() == bhttp::verb::head;
  request_deadline_set_ = false;
  clear_deadline();
  if (!parser.keep_alive() || environment_.limits.keepalive_timeout.count() == 0) close_after_response_ = true;

  const auto hosts = parser.host_fields();
  if ((version_ >= 11 && hosts == 0) || hosts > 1) {
    reject(400, hosts == 0 ? "Bad Request: HTTP/1.1 needs a Host header\n" : "Bad Request: more than one Host header\n");
    return;
  }
  parser_.reset();

  detail::ResponseAccess::reset(response_);
  detail::ResponseAccess::set_deferrer(response_, this);
  handler_running_ = true;
  try {
    owner_.serve(request_, response_);
  } catch (const std::exception& exception) {
    if (!detail::ResponseAccess::produced(response_)) response_.text(500, "Internal Server Error\n");
    owner_.on_handler_exception(exception.what());
  } catch (...) {
    if (!detail::ResponseAccess::produced(response_)) response_.text(500, "Internal Server Error\n");
    owner_.on_handler_exception("an exception that is not a std::exception");
  }
  handler_running_ = false;
  detail::ResponseAccess::set_deferrer(response_, nullptr);

  if (pending_ != nullptr) {
    phase_ = Phase::deferred;
    return;
  }
  if (early_answer_) {
    respond(*early_answer_);
    early_answer_.reset();
    return;
  }
  if (std::exchange(abandoned_in_handler_, false) && !detail::ResponseAccess::produced(response_)) {
    response_.text(500, "Internal Server Error: the handler never answered\n");
  }
  respond(response_);
}

void Connection::answer_expectation() {
  expectation_answered_ = true;
  version_ = parser_->version();
  detail::ResponseAccess::reset(response_);
  if (owner_.refuse_unrouted(request_, response_)) {
    refuse_request();
    return;
  }
  // RFC 9110 §10.1.1: an interim answer; the final one follows the body.
  out_.append("HTTP/1.1 100 Continue\r\n\r\n");
}

void Connection::refuse_request() {
  close_after_response_ = true;
  linger_ = true;  // the rest of the request may still be on its way
  head_request_ = false;
  parser_.reset();
  request_deadline_set_ = false;
  clear_deadline();
  phase_ = Phase::reading;
  respond(response_);
}

std::shared_ptr<detail::PendingAnswer> Connection::defer() {
  if (!handler_running_ || pending_ != nullptr) {
    throw std::logic_error("corral::Response::defer: the request is not in a handler, or deferred already");
  }
  auto pending = std::make_shared<Pending>(*this);
  pending_ = pending.get();
  return pending;
}

void Connection::on_deferred_answer(Response&& response) {
  pending_ = nullptr;
  if (handler_running_) {
    early_answer_.emplace(std::move(response));
    return;
  }
  respond(response);
  resume_after_deferred();
}

void Connection::on_deferred_abandoned() {
  pending_ = nullptr;
  if (handler_running_) {
    // Dropped inside its handler (or unwound by its exception): the handler's own
    // answer, or the 500 of an exception, is the answer.
    abandoned_in_handler_ = true;
    return;
  }
  try {
    Response failure;
    failure.text(500, "Internal Server Error: the handler never answered\n");
    respond(failure);
    resume_after_deferred();
  } catch (...) {
    close();  // out of memory for even this: the client sees the connection end
  }
}

void Connection::resume_after_deferred() {
  phase_ = Phase::reading;
  // Not now: this runs in some other code's callback (a timer, another connection's
  // handler), and reading now could reuse the worker's read buffer under a request
  // that is still being parsed. The connection goes on once this wake-up's work is done.
  environment_.loop.defer([this] { advance(); });
}

void Connection::respond(const Response& response) {
  if (owner_.draining()) close_after_response_ = true;
  const auto queued = out_.size();
  http::write_response(response, version_, !close_after_response_, head_request_, environment_.date.now(), out_);
  // Read now, not the wake-up time: a handler that computed for 50 ms took 50 ms.
  owner_.on_response(request_, response.status(), out_.size() - queued, EventLoop::Clock::now() - request_started_);
  if (close_after_response_) last_response_ = true;
}

void Connection::reject(int status, std::string_view body) {
  detail::ResponseAccess::reset(response_);
  if (body.empty()) {
    response_.text(status, std::string(http::reason_phrase(status)) + "\n");
  } else {
    response_.text(status, body);
  }
  refuse_request();
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
      environment_.deadlines.request.set(*this);
    }
    return;
  }
  if (phase_ == Phase::waiting) return;
  phase_ = Phase::waiting;
  // Idle connections keep as little as possible.
  shrink(in_);
  shrink(out_);
  shrink(detail::RequestAccess::body(request_));
  detail::ResponseAccess::release_large_body(response_, idle_buffer_limit);
  if (close_after_response_) {
    environment_.deadlines.drain_grace.set(*this);
  } else {
    environment_.deadlines.keepalive.set(*this);
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
  environment_.deadlines.linger.set(*this);
  discard_input();
}

void Connection::discard_input() {
  const auto buffer = environment_.read_buffer;
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
  if (pending_ != nullptr) {
    pending_->cut();
    pending_ = nullptr;
  }
  socket_.reset();  // also leaves the epoll set
  owner_.on_closed(*this);
}

}  // namespace corral
