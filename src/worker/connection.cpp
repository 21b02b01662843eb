#include "worker/connection.hpp"

#include <sys/socket.h>

#include <boost/beast/http/error.hpp>
#include <spdlog/spdlog.h>

#include "http/request_access.hpp"
#include "worker/connection_detail.hpp"

// Reading and framing: the connection's loop, its reads, and the parsing of what
// arrives into requests. Answering is in connection_answer.cpp, answers that come
// later in connection_deferred.cpp, waiting and closing in connection_timeouts.cpp.

namespace corral {

namespace bhttp = boost::beast::http;
using connection_detail::coalesce_limit;
using connection_detail::would_block;

Connection::Connection(ConnectionEnvironment& environment, ConnectionOwner& owner, UniqueFd socket)
    : environment_(environment), owner_(owner), socket_(std::move(socket)), request_started_(environment.loop.now()) {
  if (environment_.loop.completion_ring() != nullptr) {
    start_ring_io();
  } else {
    environment_.loop.add(socket_.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, *this);
  }
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
  release_ring_io();
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

void Connection::advance() {
  advance_until_waiting();
  if (ring_ != nullptr) sync_receiving();
}

void Connection::advance_until_waiting() {
  for (;;) {
    if (phase_ == Phase::closed || phase_ == Phase::deferred) return;
    if (phase_ == Phase::lingering) {
      discard_input();
      return;
    }
    // Writing with nothing pending: a send through the ring has just completed.
    if (output_pending() || phase_ == Phase::writing) {
      if (!flush()) {
        if (phase_ == Phase::closed) return;
        if (phase_ != Phase::writing) {
          phase_ = Phase::writing;
          environment_.deadlines.send.set(*this);
        }
        return;
      }
      if (phase_ == Phase::writing) {
        phase_ = Phase::reading;
        // A 100 Continue went out while its request is read (on the ring every send
        // goes through writing): the body is under the request timeout again, from
        // the 100 (answer_expectation), not under the send timeout.
        if (request_deadline_set_) environment_.deadlines.request.set(*this);
      }
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
  if (ring_ != nullptr) {
    // What arrived is in `in_` already; only the end is left to see here.
    readable_ = false;
    if (end_received_) on_peer_closed();
    return;
  }
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

}  // namespace corral
