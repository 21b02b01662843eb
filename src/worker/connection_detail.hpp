#pragma once

// What the files of Connection share (connection.cpp: reading and framing;
// connection_answer.cpp: answering; connection_deferred.cpp: answers that come later;
// connection_timeouts.cpp: waiting, deadlines and closing).

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string>
#include <utility>

#include "worker/connection.hpp"

namespace corral::connection_detail {

// Answers to pipelined requests collect up to this much before they are sent.
inline constexpr std::size_t coalesce_limit = 64 * 1024;
// A buffer that grew past this for a large request or answer is given back when the
// connection goes idle: ten thousand idle connections hold one each.
inline constexpr std::size_t idle_buffer_limit = 4096;
// After a rejected request, what the client still sends is read and dropped this long
// before closing (nginx's lingering close).
inline constexpr auto linger_timeout = std::chrono::milliseconds(1000);
// A worker that starts draining gives idle keep-alive connections this long to send one
// more request (answered with Connection: close) before it closes them: a busy client
// has usually sent its next request already, and would otherwise see its connection
// close under it.
inline constexpr auto drain_idle_grace = std::chrono::milliseconds(1000);

inline bool would_block(int error) {
  return error == EAGAIN || error == EWOULDBLOCK;
}

}  // namespace corral::connection_detail

namespace corral {

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

}  // namespace corral
