#include "event/completion_ring.hpp"

#include <liburing.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "common/system_error.hpp"

namespace corral {
namespace {

constexpr int receive_buffer_group = 0;
// From Linux 6.12's io_uring.h, newer than liburing 2.3's: a buffer ring whose buffers
// receives consume in part (IOU_PBUF_RING_INC), and the completion flag saying the
// kernel keeps filling the buffer (IORING_CQE_F_BUF_MORE).
constexpr std::uint16_t shared_buffer_ring = 2;
constexpr std::uint32_t shared_buffer_continues = 1U << 4;

// Where a shared buffer's bytes start for a completion is known only from the order of
// the completions: Linux 6.12 to 6.14 could post a multishot receive's completion
// before a single-shot one that took earlier bytes of the same buffer (fixed in 6.15,
// 6.14.7 and 6.12.29 by "io_uring: ensure deferred completions are flushed for
// multishot"). Earlier kernels get a buffer per receive.
bool kernel_orders_shared_buffer_completions() {
  utsname system{};
  return ::uname(&system) == 0 && CompletionRing::orders_shared_buffer_completions(system.release);
}
// A cancel's own completion says nothing anyone waits for.
constexpr std::uint64_t no_operation = 0;
// The destructor's wait for cancelled operations: they end at once unless the kernel is
// in the middle of them.
constexpr auto cancel_wait = std::chrono::seconds(1);

std::uint64_t tag(CompletionRing::Operation& operation) { return reinterpret_cast<std::uintptr_t>(&operation); }

// A receive's bytes go into a buffer the kernel takes from the pool.
void take_buffer_from_pool(io_uring_sqe* entry) {
  entry->flags |= IOSQE_BUFFER_SELECT;
  entry->buf_group = receive_buffer_group;
}

}  // namespace

struct CompletionRing::Ring {
  io_uring ring{};
  io_uring_buf_ring* buffer_ring = nullptr;
  std::size_t buffer_ring_bytes = 0;
  char* buffers = nullptr;  // page-aligned; touched (resident) only as the kernel fills them
  std::size_t buffers_bytes = 0;
  Geometry geometry;
  // The pool as carved: own buffers (geometry's) or shared ones.
  bool shared = false;
  unsigned pool_buffers = 0;  // at most (a power of two)
  unsigned first_buffers = 0;
  unsigned buffer_bytes = 0;
  // Operations whose last completion has not come yet.
  std::size_t in_flight = 0;
  unsigned buffers_added = 0;  // ids 0 .. buffers_added - 1 are the pool
  unsigned growth_due = 0;     // buffers that receives of this batch found lacking
  bool open = false;

  // What the kernel and the receivers do with each buffer. A shared buffer's bytes go
  // to several completions in turn; it goes back to the pool once the kernel has
  // filled it and every completion that got part of it has given that back.
  struct Use {
    std::uint32_t filled = 0;       // bytes the kernel put in it so far
    std::uint32_t told_from = 0;    // where the completion being told starts
    std::uint32_t not_given_back = 0;
    bool kernel_done = false;       // it left the kernel's end of the ring
  };
  std::vector<Use> uses;

  char* buffer(unsigned id) const { return buffers + std::size_t{id} * buffer_bytes; }

  // New buffers for the pool; the memory behind them is touched only once they are used.
  void grow(unsigned count) {
    count = std::min(count, pool_buffers - buffers_added);
    for (unsigned i = 0; i < count; ++i) add_buffer(buffers_added + i, static_cast<int>(i));
    io_uring_buf_ring_advance(buffer_ring, static_cast<int>(count));
    buffers_added += count;
  }

  void add_buffer(unsigned id, int offset) {
    io_uring_buf_ring_add(buffer_ring, buffer(id), buffer_bytes, static_cast<unsigned short>(id),
                          io_uring_buf_ring_mask(pool_buffers), offset);
  }

  // Once per batch of completions, by what it lacked: as many buffers as receives
  // found the pool empty (at least first_buffers), before those receives are submitted
  // again. A step for each of them would take the whole pool on a first burst.
  void grow_if_due() {
    if (growth_due == 0) return;
    grow(std::max({1u, first_buffers, std::exchange(growth_due, 0u)}));
  }

  // A completion that carries bytes of buffer `id`.
  void took(unsigned id, int result, std::uint32_t flags) {
    auto& use = uses[id];
    use.told_from = use.filled;
    if (result > 0) use.filled += static_cast<std::uint32_t>(result);
    ++use.not_given_back;
    use.kernel_done = !shared || (flags & shared_buffer_continues) == 0;
  }

  void given_back(unsigned id) {
    auto& use = uses[id];
    if (use.not_given_back > 0) --use.not_given_back;
    if (use.not_given_back > 0 || !use.kernel_done) return;
    use = {};
    add_buffer(id, 0);
    io_uring_buf_ring_advance(buffer_ring, 1);
  }

  // `entry`'s completions go to `operation`, which is in flight until its last.
  void track(io_uring_sqe* entry, CompletionRing::Operation& operation) {
    io_uring_sqe_set_data64(entry, tag(operation));
    ++in_flight;
  }

  io_uring_sqe* entry() {
    io_uring_sqe* next = io_uring_get_sqe(&ring);
    if (next != nullptr) return next;
    // Full: what waits goes now, and the queue is free again.
    grow_if_due();
    const int submitted = io_uring_submit(&ring);
    if (submitted < 0) throw_system_error(-submitted, "io_uring_enter", "submitting the connections' operations");
    next = io_uring_get_sqe(&ring);
    if (next == nullptr) throw_system_error(EBUSY, "io_uring_get_sqe", "queueing a connection's operation");
    return next;
  }

  // Registers the buffer ring: shared buffers if asked and the kernel posts their
  // completions in order (see kernel_orders_shared_buffer_completions), else a buffer
  // per receive (a kernel that refuses the flag refuses it with EINVAL, and any other
  // failure is met again below).
  void register_pool() {
    const std::size_t pool_bytes = std::size_t{geometry.buffers} * geometry.buffer_bytes;
    const auto shared_bytes = geometry.shared_buffer_bytes;
    if (shared_bytes > 0 && shared_bytes <= pool_bytes && kernel_orders_shared_buffer_completions()) {
      // Whole buffers, no more of them than the ring's memory holds entries for.
      const auto count = std::min<std::size_t>(std::bit_floor(pool_bytes / shared_bytes), geometry.buffers);
      const std::size_t first_bytes = std::size_t{geometry.first_buffers} * geometry.buffer_bytes;
      carve(true, static_cast<unsigned>(count), static_cast<unsigned>(first_bytes / shared_bytes), shared_bytes);
      if (register_buffer_ring(shared_buffer_ring) == 0) return;
    }
    carve(false, geometry.buffers, geometry.first_buffers, geometry.buffer_bytes);
    const int registered = register_buffer_ring(0);
    if (registered < 0) throw_system_error(-registered, "io_uring_register", "registering the receive buffer ring");
  }

  void carve(bool shared_buffers, unsigned count, unsigned first, unsigned bytes) {
    shared = shared_buffers;
    pool_buffers = count;
    first_buffers = std::max(1u, std::min(first, count));
    buffer_bytes = bytes;
    uses.assign(count, Use{});
  }

  int register_buffer_ring(std::uint16_t flags) {
    io_uring_buf_ring_init(buffer_ring);
    io_uring_buf_reg registration{};
    registration.ring_addr = reinterpret_cast<std::uintptr_t>(buffer_ring);
    registration.ring_entries = pool_buffers;
    registration.bgid = receive_buffer_group;
    registration.pad = flags;  // `flags` in kernel headers newer than liburing 2.3's
    return io_uring_register_buf_ring(&ring, &registration, 0);
  }

  ~Ring() {
    if (open) io_uring_queue_exit(&ring);
    if (buffer_ring != nullptr) ::munmap(buffer_ring, buffer_ring_bytes);
    if (buffers != nullptr) ::munmap(buffers, buffers_bytes);
  }
};

CompletionRing::CompletionRing(Geometry geometry) : ring_(std::make_unique<Ring>()) {
  ring_->geometry = geometry;
  io_uring_params params{};
  // One thread submits, and the kernel's work for completions runs when that thread
  // waits: no interrupt of the worker for each arrival (Linux 6.1).
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  // More than the submission queue's twice: a turn's sends go out in several
  // submissions, and all their completions (and the receives') wait for the next.
  params.cq_entries = std::max(geometry.completions, 2 * geometry.entries);
  const int opened = io_uring_queue_init_params(geometry.entries, &ring_->ring, &params);
  if (opened < 0) throw_system_error(-opened, "io_uring_setup", "opening the worker's io_uring");
  ring_->open = true;

  // Entries for the pool carved either way (shared buffers are no more).
  ring_->buffer_ring_bytes = std::size_t{geometry.buffers} * sizeof(io_uring_buf);
  void* memory = ::mmap(nullptr, ring_->buffer_ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (memory == MAP_FAILED) throw_system_error("mmap", "allocating the io_uring receive buffer ring");
  ring_->buffer_ring = static_cast<io_uring_buf_ring*>(memory);
  // Page-aligned, so that a shared buffer of a page is one page of memory.
  ring_->buffers_bytes = std::size_t{geometry.buffers} * geometry.buffer_bytes;
  memory = ::mmap(nullptr, ring_->buffers_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (memory == MAP_FAILED) throw_system_error("mmap", "allocating the io_uring receive buffers");
  ring_->buffers = static_cast<char*>(memory);
  ring_->register_pool();
  ring_->grow(ring_->first_buffers);

  // A seccomp filter may allow io_uring_setup() and refuse io_uring_enter(): find out
  // now, while the worker can still serve through epoll, not at its first wait.
  io_uring_sqe* probe = ring_->entry();
  io_uring_prep_nop(probe);
  io_uring_sqe_set_data64(probe, no_operation);
  io_uring_cqe* nop = nullptr;
  const int waited = io_uring_submit_and_wait(&ring_->ring, 1);
  if (waited < 0) throw_system_error(-waited, "io_uring_enter", "trying the worker's io_uring");
  if (io_uring_peek_cqe(&ring_->ring, &nop) == 0) io_uring_cqe_seen(&ring_->ring, nop);
}

CompletionRing::~CompletionRing() {
  try {
    // Closes asked by connections go out, in flight or not.
    io_uring_submit(&ring_->ring);
    if (ring_->in_flight == 0) return;
    io_uring_sqe* entry = ring_->entry();
    io_uring_prep_cancel64(entry, 0, IORING_ASYNC_CANCEL_ANY);
    io_uring_sqe_set_data64(entry, no_operation);
    const auto until = std::chrono::steady_clock::now() + cancel_wait;
    while (ring_->in_flight > 0 && std::chrono::steady_clock::now() < until) {
      submit_and_wait(100);
      dispatch();
    }
  } catch (...) {
    // Closing the ring below ends whatever is left.
  }
}

void CompletionRing::poll(int fd, std::uint32_t events, Operation& operation) {
  io_uring_sqe* entry = ring_->entry();
  io_uring_prep_poll_add(entry, fd, events);
  ring_->track(entry, operation);
}

void CompletionRing::receive(int fd, Operation& operation) {
  io_uring_sqe* entry = ring_->entry();
  io_uring_prep_recv_multishot(entry, fd, nullptr, 0, 0);
  take_buffer_from_pool(entry);
  ring_->track(entry, operation);
}

void CompletionRing::receive_once(int fd, Operation& operation) {
  io_uring_sqe* entry = ring_->entry();
  io_uring_prep_recv(entry, fd, nullptr, 0, 0);
  take_buffer_from_pool(entry);
  ring_->track(entry, operation);
}

void CompletionRing::send(int fd, std::string_view bytes, Operation& operation) {
  io_uring_sqe* entry = ring_->entry();
  // MSG_WAITALL: the kernel sends the rest of a short send itself, when there is room.
  io_uring_prep_send(entry, fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_WAITALL);
  ring_->track(entry, operation);
}

void CompletionRing::cancel(Operation& operation) {
  io_uring_sqe* entry = ring_->entry();
  io_uring_prep_cancel64(entry, tag(operation), 0);
  io_uring_sqe_set_data64(entry, no_operation);
  entry->flags |= IOSQE_CQE_SKIP_SUCCESS;  // the operation's own completion tells
}

void CompletionRing::close(int fd) {
  io_uring_sqe* entry = ring_->entry();
  io_uring_prep_close(entry, fd);
  io_uring_sqe_set_data64(entry, no_operation);
  entry->flags |= IOSQE_CQE_SKIP_SUCCESS;  // nobody waits for it
}

bool CompletionRing::more(std::uint32_t flags) { return (flags & IORING_CQE_F_MORE) != 0; }

std::string_view CompletionRing::received(int result, std::uint32_t flags) const {
  if (result <= 0 || (flags & IORING_CQE_F_BUFFER) == 0) return {};
  const unsigned id = flags >> IORING_CQE_BUFFER_SHIFT;
  return {ring_->buffer(id) + ring_->uses[id].told_from, static_cast<std::size_t>(result)};
}

void CompletionRing::give_back(std::uint32_t flags) {
  if ((flags & IORING_CQE_F_BUFFER) == 0) return;
  ring_->given_back(flags >> IORING_CQE_BUFFER_SHIFT);
}

bool CompletionRing::shares_buffers() const { return ring_->shared; }

bool CompletionRing::orders_shared_buffer_completions(std::string_view kernel_release) {
  unsigned major = 0;
  unsigned minor = 0;
  unsigned patch = 0;
  const std::string release(kernel_release);
  if (std::sscanf(release.c_str(), "%u.%u.%u", &major, &minor, &patch) < 2) return false;
  if (major != 6) return major > 6;
  // The fix reached the stable releases 6.12.29 and 6.14.7.
  return minor >= 15 || (minor == 14 && patch >= 7) || (minor == 12 && patch >= 29);
}

void CompletionRing::submit_and_wait(int wait_ms) {
  int result = 0;
  if (wait_ms == 0) {
    result = io_uring_submit_and_get_events(&ring_->ring);
  } else {
    io_uring_cqe* first = nullptr;
    __kernel_timespec timeout{};
    timeout.tv_sec = wait_ms / 1000;
    timeout.tv_nsec = static_cast<long long>(wait_ms % 1000) * 1000000;
    result = io_uring_submit_and_wait_timeout(&ring_->ring, &first, 1, wait_ms < 0 ? nullptr : &timeout, nullptr);
  }
  // ETIME: the wait ended with nothing; EINTR: a signal; EBUSY: completions the kernel
  // holds back until some are read, which dispatch() does next.
  if (result < 0 && result != -ETIME && result != -EINTR && result != -EBUSY && result != -EAGAIN) {
    throw_system_error(-result, "io_uring_enter", "waiting for the connections' completions");
  }
}

int CompletionRing::dispatch() {
  // Only what is there now: a completion's handler may cause more (a send that
  // completes as it is submitted), which the next turn takes.
  const unsigned ready = io_uring_cq_ready(&ring_->ring);
  unsigned dispatched = 0;
  for (; dispatched < ready; ++dispatched) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(&ring_->ring, &cqe) != 0 || cqe == nullptr) break;
    const std::uint64_t operation = cqe->user_data;
    const int result = cqe->res;
    const std::uint32_t flags = cqe->flags;
    io_uring_cqe_seen(&ring_->ring, cqe);
    if (operation == no_operation) continue;
    if (!more(flags)) --ring_->in_flight;
    if (result == -ENOBUFS) ++ring_->growth_due;
    if ((flags & IORING_CQE_F_BUFFER) != 0) ring_->took(flags >> IORING_CQE_BUFFER_SHIFT, result, flags);
    // It may destroy itself, or its owner, here.
    reinterpret_cast<Operation*>(operation)->on_complete(result, flags);
  }
  ring_->grow_if_due();
  return static_cast<int>(dispatched);
}

}  // namespace corral
