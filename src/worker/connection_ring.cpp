// Connections on a loop with a completion ring: receives into the ring's buffer pool
// (single-shot until the first arrival, then multishot), and one send at a time from a
// buffer the send owns. The loop's wait submits them and reports their completions, so
// a request costs no system call of its own (see event/completion_ring.hpp and
// docs/architecture.md).
#include <poll.h>

#include "worker/connection.hpp"
#include "worker/connection_detail.hpp"

namespace corral {
namespace {

// Bytes received ahead of the parser (pipelined requests, or arriving while an answer
// is deferred or on its way out) before receiving stops until they are used. The epoll
// path leaves them in the socket instead.
constexpr std::size_t receive_ahead_limit = connection_detail::coalesce_limit;

// What epoll reports as EPOLLHUP or EPOLLERR: both directions are shut, or an error.
bool hung_up(int fd) {
  pollfd descriptor{fd, 0, 0};
  return ::poll(&descriptor, 1, 0) == 1 && (descriptor.revents & (POLLHUP | POLLERR)) != 0;
}

}  // namespace

class Connection::RingReceive final : public CompletionRing::Operation {
 public:
  explicit RingReceive(RingIo& io) : io_(io) {}
  void on_complete(int result, std::uint32_t flags) override;

  bool in_flight = false;
  bool cancelling = false;
  // Single-shot until something arrives: the first arrival is usually a whole request,
  // and a connection closed after that answer then has no receive to cancel.
  bool multishot = false;

 private:
  RingIo& io_;
};

class Connection::RingSend final : public CompletionRing::Operation {
 public:
  explicit RingSend(RingIo& io) : io_(io) {}

  // Takes `out`'s bytes (and gives it the capacity of the last send's buffer; the
  // buffer comes back once sent, so that keep-alive requests allocate nothing).
  void start(int fd, std::string& out);
  void on_complete(int result, std::uint32_t flags) override;

  bool in_flight = false;

 private:
  RingIo& io_;
  std::string buffer_;
};

// A connection's two operations, in one allocation: owned by the connection, and by
// themselves once it is gone while one is in flight (deleted at the last completion).
class Connection::RingIo {
 public:
  RingIo(CompletionRing& ring, Connection& connection) : ring(ring), connection(&connection) {}

  void orphan() {
    connection = nullptr;
    delete_if_done();
  }
  void delete_if_done() {
    if (connection == nullptr && !receive.in_flight && !send.in_flight) delete this;
  }

  CompletionRing& ring;
  Connection* connection;
  RingReceive receive{*this};
  RingSend send{*this};
};

void Connection::RingReceive::on_complete(int result, std::uint32_t flags) {
  if (!CompletionRing::more(flags)) {
    in_flight = false;
    cancelling = false;
  }
  if (io_.connection == nullptr) {
    io_.ring.give_back(flags);
    io_.delete_if_done();
    return;
  }
  io_.connection->on_ring_received(result, flags);
}

void Connection::RingSend::start(int fd, std::string& out) {
  buffer_.swap(out);
  out.clear();
  io_.ring.send(fd, buffer_, *this);
  in_flight = true;
}

void Connection::RingSend::on_complete(int result, std::uint32_t /*flags*/) {
  in_flight = false;
  if (io_.connection == nullptr) {
    io_.delete_if_done();
    return;
  }
  // MSG_WAITALL: the kernel sends the rest of a short send itself, so a short result
  // means sending failed partway (a reset, or the cancel of a closing connection).
  const bool sent = result > 0 && static_cast<std::size_t>(result) == buffer_.size();
  // What a large answer grew is not kept for the next one (the epoll path gives its
  // output buffer back when the connection goes idle).
  if (buffer_.capacity() > connection_detail::idle_buffer_limit) {
    std::string().swap(buffer_);
  } else {
    buffer_.clear();
    // Unless answers gathered meanwhile (the next send takes them, and this buffer
    // gathers the ones after), the larger of the two stays the connection's output
    // buffer and the other goes: an idle connection holds one, as on epoll.
    auto& out = io_.connection->out_;
    if (out.empty()) {
      if (out.capacity() < buffer_.capacity()) out.swap(buffer_);
      std::string().swap(buffer_);
    }
  }
  io_.connection->on_ring_sent(sent);
}

void Connection::start_ring_io() {
  ring_ = environment_.loop.completion_ring();
  ring_io_ = new RingIo(*ring_, *this);
  sync_receiving();
}

void Connection::sync_receiving() {
  if (phase_ == Phase::closed) return;
  // A request still incomplete is received whatever its size: the parser bounds it
  // (http.max_header_bytes, max_body_bytes), and it may wait whole in `in_`. Past the
  // limit (requests pipelined behind a deferred answer), a client that hangs up is seen
  // once receiving resumes, not at once as with epoll's EPOLLHUP.
  // While the answer to a client that asked to close is on its way, nothing more is
  // received: it sends nothing more. A client closed on by the server (draining, no
  // keep-alive) may have sent its next request, which is received so that finish()
  // lingers instead of closing on unread bytes (a reset that can destroy the answer).
  const bool wanted = !end_received_ && (in_.size() < receive_ahead_limit || need_more_) &&
                      !(last_response_ && client_ends_ && output_pending());
  auto& receive = ring_io_->receive;
  if (wanted && !receive.in_flight) {
    if (receive.multishot) {
      ring_->receive(socket_.get(), receive);
    } else {
      ring_->receive_once(socket_.get(), receive);
    }
    receive.in_flight = true;
  } else if (!wanted && receive.in_flight && !receive.cancelling) {
    ring_->cancel(receive);
    receive.cancelling = true;
  }
}

void Connection::on_ring_received(int result, std::uint32_t flags) {
  const auto data = ring_->received(result, flags);
  if (phase_ == Phase::closed) {
    ring_->give_back(flags);
    return;
  }
  if (!data.empty()) {
    // Past the first request, receiving stays armed.
    ring_io_->receive.multishot = true;
    if (phase_ == Phase::lingering) {
      // Read and dropped (finish()).
    } else if (in_.empty() && !output_pending() && (phase_ == Phase::reading || phase_ == Phase::waiting)) {
      // Usually a whole request: parsed in the pool's buffer, nothing copied.
      const auto used = consume(data);
      if (used < data.size() && phase_ != Phase::closed) in_.assign(data.substr(used));
    } else {
      in_.append(data);
      need_more_ = false;
    }
    ring_->give_back(flags);
  } else if (result == 0) {
    end_received_ = true;
    peer_half_closed_ = true;
    readable_ = true;  // receive() sees the end once what came before is used
    if (phase_ == Phase::deferred && hung_up(socket_.get())) {
      // As on_events(): the client is gone while its answer is pending.
      close();
      return;
    }
  } else if (result != -ENOBUFS && result != -ECANCELED) {
    close();  // reset by the peer
    return;
  }
  // -ENOBUFS (the pool was empty) and -ECANCELED end the receive; advance() asks again
  // if it is still wanted.
  advance();
}

void Connection::on_ring_sent(bool sent) {
  if (phase_ == Phase::closed) return;
  if (!sent) {
    close();  // the peer is gone
    return;
  }
  advance();
}

bool Connection::flush_through_ring() {
  if (ring_io_->send.in_flight) return false;
  if (out_.empty()) return true;
  ring_io_->send.start(socket_.get(), out_);
  return false;
}

bool Connection::output_pending() const { return !out_.empty() || (ring_io_ != nullptr && ring_io_->send.in_flight); }

void Connection::cancel_ring_io() {
  auto& receive = ring_io_->receive;
  if (receive.in_flight && !receive.cancelling) {
    ring_->cancel(receive);
    receive.cancelling = true;
  }
  if (ring_io_->send.in_flight) ring_->cancel(ring_io_->send);
  // After the cancels: its number stays taken until they have been submitted.
  ring_->close(socket_.release());
}

void Connection::release_ring_io() {
  if (ring_ == nullptr) return;
  try {
    if (socket_.valid()) cancel_ring_io();
  } catch (const std::exception&) {
    // A full queue that could not be submitted: the ring's destructor cancels the rest.
  }
  ring_io_->orphan();
}

}  // namespace corral
