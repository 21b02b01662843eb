// Waiting, deadlines and closing: idle keep-alive, the request deadline, draining,
// lingering after a refusal, the peer's end and the connection's.
#include <sys/socket.h>

#include "http/request_access.hpp"
#include "http/response_access.hpp"
#include "worker/connection_detail.hpp"

namespace corral {
namespace {

using connection_detail::idle_buffer_limit;
using connection_detail::would_block;

void shrink(std::string& buffer) {
  if (buffer.capacity() > idle_buffer_limit) std::string().swap(buffer);
}

}  // namespace

ConnectionDeadlines::ConnectionDeadlines(EventLoop& loop, const HttpLimits& limits)
    : keepalive(loop, limits.keepalive_timeout),
      request(loop, limits.request_timeout),
      send(loop, limits.send_timeout),
      linger(loop, connection_detail::linger_timeout),
      drain_grace(loop, connection_detail::drain_idle_grace) {}

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
  // `readable_`: on epoll, bytes came that are not read yet (the client's next request,
  // sent while this answer was on its way to a client the server closes on).
  if (peer_closed_ || (!linger_ && in_.empty() && !parser_ && !readable_)) {
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
  if (ring_ != nullptr) {
    // The ring's receive drops what arrives; its end closes.
    if (end_received_) close();
    return;
  }
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
  if (ring_ != nullptr) {
    cancel_ring_io();  // and closes the socket
  } else {
    socket_.reset();  // also leaves the epoll set
  }
  owner_.on_closed(*this);
}

}  // namespace corral
