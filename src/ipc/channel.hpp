#pragma once

#include <utility>

#include "common/unique_fd.hpp"
#include "ipc/message.hpp"

namespace corral::ipc {

enum class Received { message, nothing, closed, malformed };

// Non-blocking send of one message on a SOCK_SEQPACKET fd. Returns false when the peer
// is gone or its queue is full (a heartbeat can be dropped; the caller decides about
// anything else); throws on any other error.
bool send_message(int fd, const Message& message);

// Non-blocking receive of one datagram.
Received receive_message(int fd, Message& out);

// One end of a supervisor <-> worker channel.
class Channel {
 public:
  Channel() = default;
  explicit Channel(UniqueFd fd) : fd_(std::move(fd)) {}

  // A connected SOCK_SEQPACKET pair, both ends non-blocking and close-on-exec.
  // `purpose` goes into the error message.
  static std::pair<Channel, Channel> make_pair(std::string_view purpose);

  int fd() const { return fd_.get(); }
  bool open() const { return fd_.valid(); }
  void close() { fd_.reset(); }

  bool send(const Message& message) const { return send_message(fd_.get(), message); }
  Received receive(Message& out) const { return receive_message(fd_.get(), out); }

 private:
  UniqueFd fd_;
};

}  // namespace corral::ipc
