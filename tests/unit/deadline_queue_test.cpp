// The worker's timers and deadline queues, on a real event loop with deadlines of a
// millisecond: the test waits for the loop to stop, which the last expiry does.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "event/deadline_queue.hpp"
#include "event/event_loop.hpp"

namespace corral {
namespace {

using namespace std::chrono_literals;

// What the queue calls on expiry, passed on to the test's own callback.
struct Entry : Deadline {
  explicit Entry(std::string name) : name(std::move(name)) {}
  void on_deadline() { expired(*this); }
  std::string name;
  std::function<void(Entry&)> expired;
};

TEST(DeadlineQueue, ExpiresInTheOrderDeadlinesWereLastSet) {
  EventLoop loop;
  std::vector<std::string> expired;
  Entry a("a"), b("b"), c("c");
  for (Entry* entry : {&a, &b, &c}) {
    entry->expired = [&](Entry& e) {
      expired.push_back(e.name);
      if (expired.size() == 3) loop.stop();
    };
  }
  DeadlineQueue<Entry> queue(loop, 1ms);
  queue.set(a);
  queue.set(b);
  queue.set(c);
  queue.set(a);  // moved to the back
  Timer guard(loop);
  guard.expires_after(5s, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(expired, (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_FALSE(a.has_deadline());
}

TEST(DeadlineQueue, ClearedOrDestroyedEntriesNeverExpire) {
  EventLoop loop;
  std::vector<std::string> expired;
  const auto record = [&](Entry& e) {
    expired.push_back(e.name);
    loop.stop();
  };
  Entry kept("kept"), cleared("cleared");
  kept.expired = cleared.expired = record;
  DeadlineQueue<Entry> queue(loop, 1ms);
  {
    Entry destroyed("destroyed");
    destroyed.expired = record;
    queue.set(destroyed);
  }
  queue.set(cleared);
  queue.set(kept);
  cleared.clear_deadline();
  Timer guard(loop);
  guard.expires_after(5s, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(expired, std::vector<std::string>{"kept"});
}

TEST(DeadlineQueue, AnEntrySetAgainFromItsExpiryWaitsAgain) {
  EventLoop loop;
  int expiries = 0;
  Entry entry("again");
  DeadlineQueue<Entry> queue(loop, 1ms);
  entry.expired = [&](Entry& e) {
    if (++expiries < 3) {
      queue.set(e);
    } else {
      loop.stop();
    }
  };
  queue.set(entry);
  Timer guard(loop);
  guard.expires_after(5s, [&] { loop.stop(); });
  loop.run();
  EXPECT_EQ(expiries, 3);
}

TEST(Timer, CancelledOrReArmedTimersDoNotFire) {
  EventLoop loop;
  std::vector<std::string> fired;
  Timer cancelled(loop), rearmed(loop), last(loop);
  cancelled.expires_after(1ms, [&] { fired.push_back("cancelled"); });
  rearmed.expires_after(1ms, [&] { fired.push_back("first arming"); });
  rearmed.expires_after(2ms, [&] { fired.push_back("rearmed"); });
  last.expires_after(3ms, [&] {
    fired.push_back("last");
    loop.stop();
  });
  cancelled.cancel();
  loop.run();
  EXPECT_EQ(fired, (std::vector<std::string>{"rearmed", "last"}));
}

}  // namespace
}  // namespace corral
