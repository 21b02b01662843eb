#pragma once

#include <chrono>

#include <boost/intrusive/list.hpp>

#include "event/event_loop.hpp"

namespace corral {

// An entry in at most one DeadlineQueue at a time; leaves it when destroyed.
class Deadline : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  void clear_deadline() { unlink(); }
  bool has_deadline() const { return is_linked(); }

 private:
  template <class>
  friend class DeadlineQueue;
  EventLoop::Clock::time_point deadline_{};
};

// Deadlines that all lie the same fixed time after they were set (a keep-alive timeout,
// a request timeout, ...). Set in time order, they expire in that order too, so a queue
// is a list: setting one is an unlink and an append, and one timer waits for the head.
// This replaces a timer armed and cancelled on every request. An expired entry's
// on_deadline() is called; it may set a new deadline in any queue.
template <class Entry>
class DeadlineQueue {
 public:
  DeadlineQueue(EventLoop& loop, EventLoop::Clock::duration timeout) : loop_(loop), timer_(loop), timeout_(timeout) {}
  DeadlineQueue(const DeadlineQueue&) = delete;
  DeadlineQueue& operator=(const DeadlineQueue&) = delete;

  // (Re)sets the entry's deadline to the timeout from now, moving it from any queue.
  void set(Entry& entry) {
    Deadline& deadline = entry;
    deadline.unlink();
    deadline.deadline_ = loop_.now() + timeout_;
    entries_.push_back(deadline);
    if (!timer_.armed()) arm(entries_.front().deadline_);
  }

 private:
  void arm(EventLoop::Clock::time_point when) {
    timer_.expires_at(when, [this] { expire(); });
  }

  void expire() {
    while (!entries_.empty() && entries_.front().deadline_ <= loop_.now()) {
      Deadline& deadline = entries_.front();
      entries_.pop_front();
      static_cast<Entry&>(deadline).on_deadline();
    }
    // The timer is armed for the head when it was set; entries that left the queue since
    // can leave it early, never late.
    if (!entries_.empty() && !timer_.armed()) arm(entries_.front().deadline_);
  }

  using List = boost::intrusive::list<Deadline, boost::intrusive::constant_time_size<false>>;

  EventLoop& loop_;
  Timer timer_;
  EventLoop::Clock::duration timeout_;
  List entries_;
};

}  // namespace corral
