#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/unique_fd.hpp"
#include "config/settings.hpp"
#include "corral/loop.hpp"
#include "corral/request.hpp"
#include "corral/response.hpp"
#include "event/deadline_queue.hpp"
#include "event/event_loop.hpp"
#include "worker/http_date.hpp"
#include "worker/request_parser.hpp"

namespace corral {
namespace detail {
class WorkerStore;
}

class Connection;

// The deadlines a connection can wait under, one queue per length.
struct ConnectionDeadlines {
  ConnectionDeadlines(EventLoop& loop, const HttpLimits& limits);
  DeadlineQueue<Connection> keepalive;    // idle between requests
  DeadlineQueue<Connection> request;      // from a request's first bytes to its end
  DeadlineQueue<Connection> send;         // one answer into a full socket
  DeadlineQueue<Connection> linger;       // reading what follows a rejected request
  DeadlineQueue<Connection> drain_grace;  // idle while the worker drains
};

// What every connection of a worker shares.
struct ConnectionEnvironment {
  EventLoop& loop;
  Loop& handler_loop;  // the loop as handlers see it
  ConnectionDeadlines& deadlines;
  const HttpLimits& limits;
  std::span<char> read_buffer;  // one for all: only one connection reads at a time
  HttpDate& date;
  detail::WorkerStore* store = nullptr;  // what Request::store() and session() reach
};

// What a connection asks of its worker: the narrow interface it depends on.
class ConnectionOwner {
 public:
  // Routes a complete request. Exceptions other than ClientError propagate.
  virtual void serve(Request& request, Response& response) = 0;
  // Before the body of an "Expect: 100-continue" request is read: fills `response` and
  // returns true if the request will not be served (404, 405), so that the client is
  // told at once instead of sending the body for nothing.
  virtual bool refuse_unrouted(const Request& request, Response& response) = 0;
  // A handler (or a deferred answer's callback) threw.
  virtual void on_handler_exception(const std::string& what) = 0;
  // The worker is stopping: answers carry Connection: close.
  virtual bool draining() const = 0;
  // The connection closed; it may be destroyed once this wake-up's events are handled.
  virtual void on_closed(Connection& connection) = 0;
  // A response was queued: for metrics and the access log. `request` may be partial
  // (a request refused before it was whole).
  virtual void on_response(const Request& /*request*/, int /*status*/, std::size_t /*bytes*/,
                           EventLoop::Clock::duration /*duration*/) {}

 protected:
  ~ConnectionOwner() = default;
};

// One client connection: HTTP/1.1 with keep-alive and pipelining (requests are answered
// in order; the answers to requests that arrived together leave in one write), header
// and body limits, answers deferred by handlers, and a deadline on every wait.
//
// The socket is watched edge-triggered for reading and writing from accept to close,
// so serving a request costs one recv() and one send(): a read shorter than the buffer
// emptied the socket, and the next request's arrival is a new edge. On a loop with a
// completion ring (connection_ring.cpp), the ring's receives (single-shot until the
// first arrival, then multishot) and sends take their place, and no system call is made
// per request.
class Connection final : public EventLoop::Handler, public Deadline, private detail::Deferrer {
 public:
  Connection(ConnectionEnvironment& environment, ConnectionOwner& owner, UniqueFd socket);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The worker stops: close now if idle between requests (after a short grace), else
  // after this response.
  void drain();
  // The deadline of the current wait passed.
  void on_deadline();
  // Waiting for a deferred answer.
  bool awaiting_answer() const { return phase_ == Phase::deferred; }

  void on_events(std::uint32_t events) override;

 private:
  enum class Phase { waiting, reading, deferred, writing, lingering, closed };
  class Pending;
  class RingReceive;
  class RingSend;
  class RingIo;

  // Runs the connection until it has to wait for the peer or a timer.
  void advance();
  void advance_until_waiting();
  void receive();
  // Parses and answers the complete requests at the start of `data`; returns the bytes
  // used. Stops at an incomplete request, a deferred answer or a response after which
  // the connection closes.
  std::size_t consume(std::string_view data);
  void handle_request();
  // "Expect: 100-continue" and the header is in: 100 Continue, or the final status now.
  void answer_expectation();
  // Sends `response_` as the connection's last answer, reading and dropping what the
  // client still sends (the rest of a refused request).
  void refuse_request();
  std::shared_ptr<detail::PendingAnswer> defer() override;
  void on_deferred_answer(Response&& response);
  void on_deferred_abandoned();
  void resume_after_deferred();
  void respond(const Response& response);
  // Answers `status` (with its reason phrase unless `body` says more) and closes.
  void reject(int status, std::string_view body = {});
  // Sends what is in `out_`; false if the socket is full.
  bool flush();
  void wait_for_input();
  void on_peer_closed();
  void finish();
  void discard_input();
  void close();
  // An answer is still on its way out.
  bool output_pending() const;

  // With a completion ring (connection_ring.cpp).
  void start_ring_io();
  void sync_receiving();
  void on_ring_received(int result, std::uint32_t flags);
  void on_ring_sent(bool sent);
  bool flush_through_ring();
  void cancel_ring_io();
  void release_ring_io();

  ConnectionEnvironment& environment_;
  ConnectionOwner& owner_;
  UniqueFd socket_;
  Phase phase_ = Phase::reading;
  // Edge-triggered readiness: set by the event, cleared when a call finds nothing.
  bool readable_ = false;
  bool writable_ = true;
  // The parser stopped at the end of `in_` and needs more bytes.
  bool need_more_ = false;
  bool request_deadline_set_ = false;
  EventLoop::Clock::time_point request_started_{};  // when the current request's parsing began
  bool close_after_response_ = false;
  // The answer in `out_` is the connection's last.
  bool last_response_ = false;
  // The client asked to close after this answer (Connection: close, HTTP/1.0): it sends
  // nothing more, unlike a client that a draining worker closes on.
  bool client_ends_ = false;
  bool peer_closed_ = false;
  // The peer's FIN was reported (EPOLLRDHUP): after a short read, one more read will
  // see the end, so the socket stays readable.
  bool peer_half_closed_ = false;
  bool expectation_answered_ = false;
  // Bytes the client may still send must be read before closing (see finish()).
  bool linger_ = false;
  bool handler_running_ = false;
  bool abandoned_in_handler_ = false;
  unsigned version_ = 11;
  bool head_request_ = false;
  Request request_;
  Response response_;
  std::optional<RequestParser> parser_;
  std::string in_;   // received, not yet parsed: a partial request or pipelined ones
  std::string out_;  // answered, not yet sent
  std::size_t sent_ = 0;
  // The deferred answer's link to this connection, owned by the Responders (cut when
  // either side ends).
  Pending* pending_ = nullptr;
  std::optional<Response> early_answer_;  // answered before its handler returned
  // With a completion ring: the receive and the send, owned here, and by themselves
  // once this connection is gone while one is in flight.
  CompletionRing* ring_ = nullptr;
  RingIo* ring_io_ = nullptr;
  bool end_received_ = false;  // the receive saw the peer's FIN
};

}  // namespace corral
