#include "store/hiredis_events.hpp"

#include <hiredis/async.h>
#include <sys/epoll.h>

#include <utility>

namespace corral::detail {

// hiredis calls C functions: these find the adapter again, and never let an exception
// cross hiredis's frames.
struct HiredisEvents::Hooks {
  static void watch(void* data, std::uint32_t events, bool on) {
    auto& events_of = *static_cast<HiredisEvents*>(data);
    outside_hiredis(events_of.loop_, [&] {
      try {
        events_of.watch(events, on);
      } catch (const std::exception& error) {
        events_of.loop_.defer(events_of.deferrals_.wrap(
            [&events_of, what = std::string(error.what())] { events_of.on_watch_failed_(what); }));
      }
    });
  }
  static void add_read(void* data) { watch(data, EPOLLIN, true); }
  static void del_read(void* data) { watch(data, EPOLLIN, false); }
  static void add_write(void* data) { watch(data, EPOLLOUT, true); }
  static void del_write(void* data) { watch(data, EPOLLOUT, false); }
  // hiredis is freeing the context: nothing of it is watched or handled any more.
  static void cleanup(void* data) {
    watch(data, EPOLLIN | EPOLLOUT, false);
    static_cast<HiredisEvents*>(data)->context_ = nullptr;
  }
};

std::string hiredis_error(const redisAsyncContext* context) {
  return context->errstr[0] != '\0' ? std::string(context->errstr) : std::string("the server closed the connection");
}

HiredisEvents::HiredisEvents(EventLoop& loop, std::function<void(const std::string&)> on_watch_failed)
    : loop_(loop),
      on_watch_failed_(std::move(on_watch_failed)),
      socket_handler_([this](std::uint32_t events) { on_socket_events(events); }) {}

HiredisEvents::~HiredisEvents() {
  if (watched_fd_ >= 0) loop_.remove(watched_fd_);
}

void HiredisEvents::attach(redisAsyncContext* context) {
  if (watched_fd_ >= 0) loop_.remove(watched_fd_);  // a context its owner freed without cleanup
  watched_fd_ = -1;
  interest_ = 0;
  context_ = context;
  context->ev.data = this;
  context->ev.addRead = Hooks::add_read;
  context->ev.delRead = Hooks::del_read;
  context->ev.addWrite = Hooks::add_write;
  context->ev.delWrite = Hooks::del_write;
  context->ev.cleanup = Hooks::cleanup;
  // hiredis 0.14 finishes a non-blocking connect when the socket turns writable: watch
  // for that now, or an idle connection would never learn that the server is there.
  Hooks::add_write(this);
}

void HiredisEvents::watch(std::uint32_t events, bool on) {
  if (writing_at_once_ && events == EPOLLOUT && on) {
    write_queued_ = true;
    return;
  }
  const std::uint32_t interest = on ? (interest_ | events) : (interest_ & ~events);
  if (interest == 0) {
    if (watched_fd_ >= 0) loop_.remove(watched_fd_);
    watched_fd_ = -1;
  } else if (watched_fd_ < 0) {
    if (context_ == nullptr) return;
    loop_.add(context_->c.fd, interest, socket_handler_);
    watched_fd_ = context_->c.fd;
  } else if (interest != interest_) {
    loop_.modify(watched_fd_, interest, socket_handler_);
  }
  interest_ = interest;
}

bool HiredisEvents::begin_writing_at_once() {
  if (context_ == nullptr || (interest_ & EPOLLOUT) != 0) return false;
  const int flags = context_->c.flags;
  if ((flags & REDIS_CONNECTED) == 0 || (flags & REDIS_IN_CALLBACK) != 0) return false;
  writing_at_once_ = true;
  return true;
}

void HiredisEvents::write_at_once() {
  writing_at_once_ = false;
  // What the socket does not take now asks again for writability, this time watched.
  if (std::exchange(write_queued_, false) && context_ != nullptr) redisAsyncHandleWrite(context_);
}

void HiredisEvents::on_socket_events(std::uint32_t events) {
  if (context_ == nullptr) return;  // an event of a connection dropped earlier in this turn
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) redisAsyncHandleRead(context_);
  if (context_ != nullptr && (events & (EPOLLOUT | EPOLLERR)) != 0) redisAsyncHandleWrite(context_);
}

}  // namespace corral::detail
