#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/unique_fd.hpp"
#include "http/router.hpp"
#include "worker/deadline_queue.hpp"
#include "worker/event_loop.hpp"
#include "worker/request_parser.hpp"

namespace corral {

class Worker;

// One client connection: HTTP/1.1 with keep-alive and pipelining (requests are answered
// in order; the answers to requests that arrived together leave in one write), header
// and body limits, and a deadline on every wait.
//
// The socket is watched edge-triggered for reading and writing from accept to close,
// so serving a request costs one recv() and one send(): a read shorter than the buffer
// emptied the socket, and the next request's arrival is a new edge.
class Connection final : public EventLoop::Handler, public Deadline {
 public:
  Connection(Worker& worker, UniqueFd socket);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The worker stops: close now if idle between requests (after a short grace), else
  // after this response.
  void drain();
  // The deadline of the current wait passed.
  void on_deadline();

  void on_events(std::uint32_t events) override;

 private:
  enum class Phase { waiting, reading, delayed, writing, lingering, closed };

  // Runs the connection until it has to wait for the peer or a timer.
  void advance();
  void receive();
  // Parses and answers the complete requests at the start of `data`; returns the bytes
  // used. Stops at an incomplete request, a delayed answer or a response after which the
  // connection closes.
  std::size_t consume(std::string_view data);
  void handle_request();
  void respond(const http::Response& response);
  // Answers `status` (with its reason phrase unless `body` says more) and closes.
  void reject(int status, std::string body = {});
  // Sends what is in `out_`; false if the socket is full.
  bool flush();
  void wait_for_input();
  void on_peer_closed();
  void finish();
  void discard_input();
  void close();

  Worker& worker_;
  UniqueFd socket_;
  Phase phase_ = Phase::reading;
  // Edge-triggered readiness: set by the event, cleared when a call finds nothing.
  bool readable_ = false;
  bool writable_ = true;
  // The parser stopped at the end of `in_` and needs more bytes.
  bool need_more_ = false;
  bool request_deadline_set_ = false;
  bool close_after_response_ = false;
  // The answer in `out_` is the connection's last.
  bool last_response_ = false;
  bool peer_closed_ = false;
  // Bytes the client may still send must be read before closing (see finish()).
  bool linger_ = false;
  unsigned version_ = 11;
  bool head_request_ = false;
  std::optional<RequestParser> parser_;
  std::string in_;   // received, not yet parsed: a partial request or pipelined ones
  std::string out_;  // answered, not yet sent
  std::size_t sent_ = 0;
  // Only for a handler that answers later (/debug/sleep).
  struct Delayed;
  std::unique_ptr<Delayed> delayed_;
};

}  // namespace corral
