#include "worker/accept_thread.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>

#include <boost/asio/post.hpp>

#include "common/system_error.hpp"

namespace corral {
namespace {

// Interrupts a blocked accept(): delivered to the accept thread only (pthread_kill),
// with a handler that does nothing and no SA_RESTART, so accept() fails with EINTR.
constexpr int wake_signal = SIGUSR2;


void on_wake_signal(int) {}

void install_wake_signal() {
  static const bool installed = [] {
    struct sigaction action {};
    action.sa_handler = on_wake_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    if (::sigaction(wake_signal, &action, nullptr) != 0) {
      throw_system_error("sigaction(SIGUSR2)", "preparing the accept thread");
    }
    return true;
  }();
  (void)installed;
}

}  // namespace

AcceptThread::AcceptThread(boost::asio::io_context& io, int listen_fd, std::function<void(int)> on_connection,
                           std::function<void(int)> on_error)
    : io_(io), listen_fd_(listen_fd), on_connection_(std::move(on_connection)), on_error_(std::move(on_error)) {}

AcceptThread::~AcceptThread() {
  stop();
}

void AcceptThread::start() {
  install_wake_signal();
  // Blocking mode is what makes accept() queue its callers. The flag belongs to the
  // socket's open file description, shared with the other workers and systemd, which
  // only polls it.
  const int flags = ::fcntl(listen_fd_, F_GETFL);
  if (flags < 0 || ::fcntl(listen_fd_, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    throw_system_error("fcntl(F_SETFL)", "making the listening socket blocking for accept()");
  }
  thread_ = std::thread([this] { run(); });
}

void AcceptThread::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  picked_up_.notify_one();
  // The signal may land just before the thread blocks in accept(): repeat it until the
  // thread is gone (a few microseconds; nothing else to wait on, as accept() cannot be
  // woken by an event of ours on a socket other processes share).
  while (!exited_) {
    ::pthread_kill(thread_.native_handle(), wake_signal);
    for (int i = 0; i < 20 && !exited_; ++i) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  thread_.join();
}

void AcceptThread::run() {
  while (!stopping_) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      ++pending_;
      boost::asio::post(io_, [this, fd] {
        {
          std::lock_guard lock(mutex_);
          --pending_;
        }
        picked_up_.notify_one();
        on_connection_(fd);
      });
      std::unique_lock lock(mutex_);
      picked_up_.wait(lock, [this] { return pending_ == 0 || stopping_; });
      continue;
    }
    const int error = errno;
    if (error == EINTR || error == ECONNABORTED || error == EPROTO) continue;
    boost::asio::post(io_, [this, error] { on_error_(error); });
    if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
      // The connection stays queued for a worker that can take it.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } else if (error == EBADF || error == EINVAL || error == ENOTSOCK) {
      break;
    }
  }
  exited_ = true;
}

}  // namespace corral
