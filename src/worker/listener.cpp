#include "worker/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/system_error.hpp"

namespace corral {
namespace {

constexpr std::uint64_t rewatch_every = 16;
constexpr auto resume_after_resource_error = std::chrono::milliseconds(100);

}  // namespace

Listener::Listener(EventLoop& loop, int listen_fd, std::function<void(UniqueFd)> on_connection,
                   std::function<void(int)> on_error)
    : loop_(loop),
      listen_fd_(listen_fd),
      on_connection_(std::move(on_connection)),
      on_error_(std::move(on_error)),
      resume_timer_(loop) {}

Listener::~Listener() {
  stop();
}

void Listener::start() {
  // Several workers race for each connection the kernel reports, so accept() must not
  // block. The flag belongs to the socket's open file description, which the other
  // workers and systemd share: they all want it non-blocking.
  const int flags = ::fcntl(listen_fd_, F_GETFL);
  if (flags < 0 || ::fcntl(listen_fd_, F_SETFL, flags | O_NONBLOCK) != 0) {
    throw_system_error("fcntl(F_SETFL)", "making the listening socket non-blocking");
  }
  // Each answer goes out in one send(); without TCP_NODELAY, an answer sent while the
  // client has not yet acknowledged the previous one would wait for its delayed ACK.
  // Set on the listening socket, every connection accepted from it inherits it, and a
  // connection costs no setsockopt() of its own. corral sets it before listen() on the
  // socket it binds, and corral.socket has NoDelay=yes; this covers a socket unit
  // without it, except for connections queued before the first worker started. The
  // socket is TCP (sd/listen_fds.cpp refuses others), so it cannot be refused.
  const int on = 1;
  ::setsockopt(listen_fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  stopped_ = false;
  watch();
}

void Listener::stop() {
  stopped_ = true;
  resume_timer_.cancel();
  unwatch();
}

void Listener::set_paused(bool paused) {
  paused_ = paused;
  paused ? unwatch() : watch();
}

void Listener::watch() {
  if (watching_ || stopped_ || paused_ || out_of_resources_) return;
  loop_.add(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, *this);
  watching_ = true;
}

void Listener::unwatch() {
  if (!watching_) return;
  loop_.remove(listen_fd_);
  watching_ = false;
}

void Listener::on_events(std::uint32_t) {
  // The first connection is taken even if this worker paused or stopped since
  // epoll_wait() returned: the kernel woke this worker alone for it, and no other would
  // hear of it until the next connection arrives. More are taken while the worker still
  // wants them (see set_accepts_per_wakeup()).
  for (unsigned taken = 0; taken == 0 || (watching_ && taken < accepts_per_wakeup_); ++taken) {
    if (!accept_one()) return;
  }
}

bool Listener::accept_one() {
  const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    if (++accepted_ % rewatch_every == 0) {
      unwatch();
      watch();
    }
    on_connection_(UniqueFd(fd));
    return true;
  }
  const int error = errno;
  if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR || error == ECONNABORTED || error == EPROTO) {
    return false;
  }
  if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
    out_of_resources_ = true;
    unwatch();
    resume_timer_.expires_after(resume_after_resource_error, [this] {
      out_of_resources_ = false;
      watch();
    });
    on_error_(error);
    return false;
  }
  throw_system_error(error, "accept4", "accepting a connection");
}

}  // namespace corral
