#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace corral {

// io_uring for a worker's connections (the `io_uring` setting): a connection's receives
// and sends complete while the loop waits, instead of costing a system call each. The
// loop then waits in io_uring_enter(), and sees the descriptors it watches with epoll
// through one poll of the epoll set (EventLoop::open_completion_ring).
//
// Receives (multishot, or single-shot with receive_once) go into a pool of buffers the
// kernel picks from (a provided buffer ring): a worker keeps one pool, not a buffer per
// connection, and the pool grows only by a buffer for each receive that found it empty
// (at least first_buffers at a time). From Linux 6.12.29 and 6.15 receives share the
// pool's buffers (incrementally consumed buffers): each takes only the bytes that
// arrived, after the last one's, so the pool is as large as the bytes in flight, not
// as the receives. Needs Linux 6.1 (single issuer, task work deferred to the wait) and a
// seccomp filter that allows io_uring_setup, io_uring_enter and io_uring_register.
class CompletionRing {
 public:
  // Told of the completions of what it asked. `result` is what the system call would
  // return (bytes, or a negative errno).
  class Operation {
   public:
    virtual void on_complete(int result, std::uint32_t flags) = 0;

   protected:
    ~Operation() = default;
  };

  struct Geometry {
    unsigned entries = 64;          // submission queue (one page); more waiting entries are submitted early
    unsigned completions = 512;     // completion queue: what may arrive between two waits
    unsigned buffers = 256;         // the receive pool at most (a power of two)
    unsigned first_buffers = 16;    // the pool at first, and its least growth when receives find it empty
    unsigned buffer_bytes = 1024;   // as nginx's client_header_buffer_size; more takes several completions
    // Shared buffers (Linux 6.12.29, 6.15), when the kernel has them: the pool is
    // carved into whole buffers of this size instead (as many as fit in its bytes at
    // first and at most, at least one, at most `buffers`), and a receive takes the next
    // bytes of one, up to its end. 0 (or more than the whole pool): a buffer per receive.
    unsigned shared_buffer_bytes = 4096;
  };

  // Throws std::system_error naming the refused call (an older kernel: EINVAL; a
  // seccomp filter: EPERM).
  explicit CompletionRing(Geometry geometry);
  CompletionRing() : CompletionRing(Geometry{}) {}
  // Cancels what is still in flight and waits (briefly) for it, so that an operation
  // that owns itself (see Operation users) is told, and nothing writes into freed memory.
  ~CompletionRing();
  CompletionRing(const CompletionRing&) = delete;
  CompletionRing& operator=(const CompletionRing&) = delete;

  // One completion when `fd` has any of `events` (poll(2) bits), or at once if it has.
  void poll(int fd, std::uint32_t events, Operation& operation);
  // Completions carry what arrives on `fd`, in buffers of the pool, until an error, the
  // end (result 0), an empty pool (-ENOBUFS: the pool grows, if it can, before what is
  // asked next is submitted, and what did not fit is still in the socket) or cancel();
  // `more(flags)` is false on the last. Each buffer must be given back.
  void receive(int fd, Operation& operation);
  // One completion, as receive()'s last: what arrives next (in one buffer), the end or
  // an error.
  void receive_once(int fd, Operation& operation);
  // One completion once all of `bytes` is sent or sending failed; `bytes` must stay
  // valid until then.
  void send(int fd, std::string_view bytes, Operation& operation);
  // Asks the kernel to end what `operation` has in flight; its last completion follows.
  void cancel(Operation& operation);
  // Closes `fd` after what was asked before it has been submitted: the number cannot be
  // reused (by an accept) while an operation queued for it still waits to be submitted.
  void close(int fd);

  static bool more(std::uint32_t flags);
  // The bytes of a receive's completion (asked while it is being told), and giving
  // them back to the pool.
  std::string_view received(int result, std::uint32_t flags) const;
  void give_back(std::uint32_t flags);
  // Whether receives share the pool's buffers (the kernel has them and the geometry
  // asks for them).
  bool shares_buffers() const;
  // Whether a kernel (its `uname -r`) posts the completions of receives into a shared
  // buffer in the order they took its bytes (Linux 6.15, 6.14.7, 6.12.29): others get
  // a buffer per receive.
  static bool orders_shared_buffer_completions(std::string_view kernel_release);

  // Submits what was asked and waits up to `wait_ms` (-1: without limit, 0: not at all)
  // for a completion.
  void submit_and_wait(int wait_ms);
  // Tells each completion that arrived to its operation; returns how many there were.
  int dispatch();

 private:
  struct Ring;
  std::unique_ptr<Ring> ring_;
};

}  // namespace corral
