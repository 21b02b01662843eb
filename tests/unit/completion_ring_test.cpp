// CompletionRing on socketpairs, and an EventLoop that waits in one: receives into the
// pool, an empty pool, sends the kernel finishes, cancelling, and epoll's descriptors
// seen through the ring.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "common/unique_fd.hpp"
#include "event/completion_ring.hpp"
#include "event/event_loop.hpp"

namespace corral {
namespace {

using namespace std::chrono_literals;

struct Completion {
  int result;
  bool more;
  std::string bytes;
};

// Keeps what each completion said, and gives the receive buffers back at once.
class Recorder final : public CompletionRing::Operation {
 public:
  explicit Recorder(CompletionRing& ring) : ring_(ring) {}
  void on_complete(int result, std::uint32_t flags) override {
    completions.push_back({result, CompletionRing::more(flags), std::string(ring_.received(result, flags))});
    ring_.give_back(flags);
  }
  std::vector<Completion> completions;

 private:
  CompletionRing& ring_;
};

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    ours.reset(fds[0]);
    theirs.reset(fds[1]);
  }
  void write(std::string_view bytes) const {
    ASSERT_EQ(::send(theirs.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  UniqueFd ours;
  UniqueFd theirs;
};

// Turns the ring until `done`, or fails after 5 s.
template <class Done>
void turn_until(CompletionRing& ring, Done done) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!done()) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "the completion never came";
    ring.submit_and_wait(10);
    ring.dispatch();
  }
}

std::string joined(const std::vector<Completion>& completions) {
  std::string bytes;
  for (const auto& completion : completions) bytes += completion.bytes;
  return bytes;
}

TEST(CompletionRing, AReceiveCarriesEachArrivalUntilItIsCancelled) {
  CompletionRing ring;
  SocketPair pair;
  Recorder receiver(ring);
  ring.receive(pair.ours.get(), receiver);
  pair.write("GET / HTTP/1.1\r\n\r\n");
  turn_until(ring, [&] { return receiver.completions.size() == 1; });
  EXPECT_EQ(receiver.completions[0].bytes, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(receiver.completions[0].more);

  // Still receiving: the next arrival needs nothing asked again.
  pair.write("next");
  turn_until(ring, [&] { return receiver.completions.size() == 2; });
  EXPECT_EQ(receiver.completions[1].bytes, "next");

  ring.cancel(receiver);
  turn_until(ring, [&] { return !receiver.completions.back().more; });
  EXPECT_EQ(receiver.completions.back().result, -ECANCELED);
}

TEST(CompletionRing, AnEmptyPoolEndsTheReceiveAndLeavesTheRestInTheSocket) {
  CompletionRing ring(CompletionRing::Geometry{.entries = 8, .buffers = 1, .buffer_bytes = 16,
                                               .shared_buffer_bytes = 0});
  SocketPair pair;
  Recorder receiver(ring);
  const std::string request = "GET /a/longer/path HTTP/1.1\r\nHost: x\r\n\r\n";
  pair.write(request);
  // Asked after the bytes are there, so that the kernel fills the one buffer and finds
  // the pool empty in the same pass.
  ring.receive(pair.ours.get(), receiver);
  turn_until(ring, [&] { return !receiver.completions.empty() && !receiver.completions.back().more; });
  EXPECT_EQ(receiver.completions.back().result, -ENOBUFS);
  // Asking again takes the rest: nothing was lost.
  while (joined(receiver.completions) != request) {
    const auto before = receiver.completions.size();
    ring.receive(pair.ours.get(), receiver);
    turn_until(ring, [&] {
      return joined(receiver.completions) == request ||
             (receiver.completions.size() > before && !receiver.completions.back().more);
    });
  }
  if (receiver.completions.back().more) {
    ring.cancel(receiver);
    turn_until(ring, [&] { return !receiver.completions.back().more; });
  }
}

TEST(CompletionRing, ThePoolGrowsWhenItRunsEmptyUntilAnArrivalFitsInOnePass) {
  CompletionRing ring(CompletionRing::Geometry{.entries = 8, .buffers = 8, .first_buffers = 1, .buffer_bytes = 16,
                                               .shared_buffer_bytes = 0});
  SocketPair pair;
  Recorder receiver(ring);
  const std::string request = "GET /a/longer/path HTTP/1.1\r\nHost: x\r\n\r\n";  // 3 buffers' worth
  std::string sent;
  bool armed = false;
  // With a pool that could not grow, every round would end in -ENOBUFS.
  int rounds_that_fit = 0;
  for (int round = 0; round < 5; ++round) {
    pair.write(request);
    sent += request;
    bool ran_empty = false;
    while (joined(receiver.completions) != sent) {
      if (!armed) {
        ring.receive(pair.ours.get(), receiver);
        armed = true;
      }
      const auto before = receiver.completions.size();
      turn_until(ring, [&] { return receiver.completions.size() > before; });
      if (!receiver.completions.back().more) {
        ASSERT_EQ(receiver.completions.back().result, -ENOBUFS);
        ran_empty = true;
        armed = false;
      }
    }
    if (!ran_empty) ++rounds_that_fit;
  }
  EXPECT_GE(rounds_that_fit, 2) << "the pool did not grow";
  EXPECT_EQ(joined(receiver.completions), sent) << "bytes were lost";
  if (armed) {
    ring.cancel(receiver);
    turn_until(ring, [&] { return !receiver.completions.back().more; });
  }
}

// A burst of connections (receive_once: one completion each) that finds the pool short
// grows it once, by as many buffers as it lacked: enough for the same burst again, and
// no more (a step per empty receive would take the whole pool on the first burst).
TEST(CompletionRing, ABurstThatFindsThePoolShortGrowsItByWhatItLacked) {
  CompletionRing ring(CompletionRing::Geometry{.entries = 32, .buffers = 32, .first_buffers = 2, .buffer_bytes = 16,
                                               .shared_buffer_bytes = 0});
  std::vector<SocketPair> pairs(10);
  std::vector<std::unique_ptr<Recorder>> receivers;
  for (std::size_t i = 0; i < pairs.size(); ++i) receivers.push_back(std::make_unique<Recorder>(ring));
  // Asked after the bytes are there: each receive takes its buffer as it is submitted.
  auto burst = [&](std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      pairs[i].write("ping");
      receivers[i]->completions.clear();
      ring.receive_once(pairs[i].ours.get(), *receivers[i]);
    }
    int found_empty = 0;
    for (std::size_t i = 0; i < count; ++i) {
      turn_until(ring, [&] { return !receivers[i]->completions.empty(); });
      const auto& completion = receivers[i]->completions.back();
      EXPECT_FALSE(completion.more) << "receive_once completes once";
      if (completion.result == -ENOBUFS) ++found_empty;
    }
    return found_empty;
  };
  EXPECT_EQ(burst(8), 6) << "a pool of 2 buffers";
  EXPECT_EQ(burst(8), 0) << "the pool grew by the 6 it lacked";
  EXPECT_EQ(burst(10), 2) << "a pool of 8 buffers (6 more than the first 2, no more)";
}

// Keeps the bytes of each completion where the ring put them, and gives them back only
// when told: what a receiver still uses must not be written over.
class Holder final : public CompletionRing::Operation {
 public:
  explicit Holder(CompletionRing& ring) : ring_(ring) {}
  void on_complete(int result, std::uint32_t flags) override {
    results.push_back(result);
    held.push_back({ring_.received(result, flags), flags});
  }
  void give_all_back() {
    for (const auto& piece : held) ring_.give_back(piece.flags);
    held.clear();
  }
  struct Piece {
    std::string_view bytes;
    std::uint32_t flags;
  };
  std::vector<int> results;
  std::vector<Piece> held;

 private:
  CompletionRing& ring_;
};

// Each holder receives its bytes, on a connection of its own, one after the other.
void receive_in_turn(CompletionRing& ring, std::initializer_list<std::pair<Holder&, std::string_view>> receives) {
  for (const auto& receive : receives) {
    // Named, not bound: clang 14 cannot capture a structured binding.
    Holder& holder = receive.first;
    SocketPair pair;
    pair.write(receive.second);
    ring.receive_once(pair.ours.get(), holder);
    turn_until(ring, [&] { return !holder.results.empty(); });
    ASSERT_EQ(holder.held.size(), 1u);
  }
}

// Hands each completion to a function.
class Forwarder final : public CompletionRing::Operation {
 public:
  explicit Forwarder(std::function<void(int, std::uint32_t)> handle) : handle_(std::move(handle)) {}
  void on_complete(int result, std::uint32_t flags) override { handle_(result, flags); }

 private:
  std::function<void(int, std::uint32_t)> handle_;
};

// Shared buffers (Linux 6.12.29, 6.15): a receive takes only what arrived, right after
// what the last one took, so small requests from many connections fill one buffer.
TEST(CompletionRing, ReceivesShareABufferEachTakingTheBytesAfterTheLastOnes) {
  CompletionRing ring(CompletionRing::Geometry{.entries = 8, .buffers = 4, .buffer_bytes = 16,
                                               .shared_buffer_bytes = 32});
  if (!ring.shares_buffers()) GTEST_SKIP() << "this kernel gets a buffer per receive";
  Holder one(ring);
  Holder other(ring);
  ASSERT_NO_FATAL_FAILURE(receive_in_turn(ring, {{one, "GET /a HTTP/1.1\r\n"}, {other, "GET /b"}}));
  EXPECT_EQ(one.held[0].bytes, "GET /a HTTP/1.1\r\n");
  EXPECT_EQ(other.held[0].bytes, "GET /b");
  EXPECT_EQ(other.held[0].bytes.data(), one.held[0].bytes.data() + one.held[0].bytes.size())
      << "the second receive did not continue the first one's buffer";
  one.give_all_back();
  other.give_all_back();
}

// A shared buffer goes back to the pool once the kernel has filled it and every
// completion that got part of it has given that back, not before: a receiver that still
// parses its part finds it as it came, and the kernel never has one buffer twice.
TEST(CompletionRing, ASharedBufferReturnsToThePoolOnlyOnceFilledAndEveryPartGivenBack) {
  // One buffer of 32 bytes.
  CompletionRing ring(CompletionRing::Geometry{.entries = 8, .buffers = 2, .first_buffers = 2, .buffer_bytes = 16,
                                               .shared_buffer_bytes = 32});
  if (!ring.shares_buffers()) GTEST_SKIP() << "this kernel gets a buffer per receive";
  SocketPair pair;
  Holder holding(ring);
  Recorder giving(ring);  // gives back at once
  auto receive_into = [&](auto& operation, std::string_view bytes, auto count) {
    if (!bytes.empty()) pair.write(bytes);
    ring.receive_once(pair.ours.get(), operation);
    turn_until(ring, [&] { return count() > 0; });
  };

  // Held first, then filled by a part given back at once: still held, so not back.
  receive_into(holding, "0123456789", [&] { return holding.results.size(); });
  receive_into(giving, "abcdefghijklmnopqrstuv", [&] { return giving.completions.size(); });
  ASSERT_EQ(giving.completions[0].bytes, "abcdefghijklmnopqrstuv");
  receive_into(giving, "next", [&] { return giving.completions.size() - 1; });
  EXPECT_EQ(giving.completions[1].result, -ENOBUFS) << "a buffer went back while a part of it was held";
  EXPECT_EQ(holding.held[0].bytes, "0123456789") << "a part still held was written over";
  holding.give_all_back();
  receive_into(giving, "", [&] { return giving.completions.size() - 2; });
  EXPECT_EQ(giving.completions[2].bytes, "next");

  // Given back at once while the kernel still fills the buffer, then filled by a part
  // that is held: not back either.
  holding.results.clear();
  receive_into(holding, std::string(28, 'x'), [&] { return holding.results.size(); });
  ASSERT_EQ(holding.held[0].bytes, std::string(28, 'x'));
  receive_into(giving, "more", [&] { return giving.completions.size() - 3; });
  EXPECT_EQ(giving.completions[3].result, -ENOBUFS) << "a buffer went back while the kernel was filling it";
  holding.give_all_back();
  receive_into(giving, "", [&] { return giving.completions.size() - 4; });
  EXPECT_EQ(giving.completions[4].bytes, "more");
}

// Where a completion's bytes start is kept by the ring, whether the receiver asks for
// them or not; and receives of both kinds that take bytes in one pass each get theirs.
TEST(CompletionRing, EveryReceiveFindsItsOwnBytesInASharedBufferWhateverTheOthersDid) {
  CompletionRing ring(CompletionRing::Geometry{.entries = 16, .buffers = 4, .buffer_bytes = 64,
                                               .shared_buffer_bytes = 128});
  if (!ring.shares_buffers()) GTEST_SKIP() << "this kernel gets a buffer per receive";
  SocketPair gone;
  SocketPair once;
  SocketPair multishot;
  // Gives each buffer back without looking at its bytes (a connection that is gone).
  std::vector<int> discarded;
  Forwarder discarder([&](int result, std::uint32_t flags) {
    discarded.push_back(result);
    ring.give_back(flags);
  });
  Recorder single(ring);
  Recorder multiple(ring);
  gone.write("bytes nobody reads");
  ring.receive_once(gone.ours.get(), discarder);
  turn_until(ring, [&] { return !discarded.empty(); });
  // Both armed on empty sockets, then bytes for the single-shot receive and for the
  // multishot one: both take theirs in the kernel's work of the same wait, where
  // 6.12.28 posted the multishot's completion first.
  ring.receive_once(once.ours.get(), single);
  ring.receive(multishot.ours.get(), multiple);
  ring.submit_and_wait(0);
  once.write("to the single-shot one");
  multishot.write("to the multishot receive");
  turn_until(ring, [&] { return !single.completions.empty() && !multiple.completions.empty(); });
  const auto& first = single.completions[0].bytes;
  const auto& second = multiple.completions[0].bytes;
  EXPECT_EQ(first, "to the single-shot one");
  EXPECT_EQ(second, "to the multishot receive");
  ring.cancel(multiple);
  turn_until(ring, [&] { return !multiple.completions.back().more; });
}

// Shared buffers smaller than the pool's own are no more than the pool's `buffers`,
// the entries its ring has memory for, whatever its bytes would hold.
TEST(CompletionRing, ThereAreNoMoreSharedBuffersThanThePoolHasEntries) {
  // 128 bytes would make 8 buffers of 16; the pool has 2 entries.
  CompletionRing ring(CompletionRing::Geometry{.entries = 8, .buffers = 2, .first_buffers = 2, .buffer_bytes = 64,
                                               .shared_buffer_bytes = 16});
  if (!ring.shares_buffers()) GTEST_SKIP() << "this kernel gets a buffer per receive";
  Holder first(ring);
  Holder second(ring);
  Holder third(ring);
  // Each fills a buffer and keeps it.
  ASSERT_NO_FATAL_FAILURE(receive_in_turn(ring, {{first, "0123456789abcdef"}, {second, "ghijklmnopqrstuv"}}));
  // Two buffers there are: a cap of one would refuse the second as well.
  ASSERT_EQ(first.results[0], 16);
  ASSERT_EQ(second.results[0], 16);
  EXPECT_NE(second.held[0].bytes.data(), first.held[0].bytes.data());
  ASSERT_NO_FATAL_FAILURE(receive_in_turn(ring, {{third, "w"}}));
  EXPECT_EQ(third.results[0], -ENOBUFS) << "a third shared buffer was handed out";
  first.give_all_back();
  second.give_all_back();
  third.give_all_back();
}

TEST(CompletionRing, OnlyKernelsThatOrderSharedBufferCompletionsShareBuffers) {
  EXPECT_TRUE(CompletionRing::orders_shared_buffer_completions("6.15.0"));
  EXPECT_TRUE(CompletionRing::orders_shared_buffer_completions("6.18.44-fc-v1300"));
  EXPECT_TRUE(CompletionRing::orders_shared_buffer_completions("7.0.1-amd64"));
  EXPECT_TRUE(CompletionRing::orders_shared_buffer_completions("6.14.7"));
  EXPECT_TRUE(CompletionRing::orders_shared_buffer_completions("6.12.48+deb13-amd64"));
  EXPECT_FALSE(CompletionRing::orders_shared_buffer_completions("6.14.6"));
  EXPECT_FALSE(CompletionRing::orders_shared_buffer_completions("6.13.12"));
  EXPECT_FALSE(CompletionRing::orders_shared_buffer_completions("6.12.28"));
  EXPECT_FALSE(CompletionRing::orders_shared_buffer_completions("6.1.0-40-amd64"));
  EXPECT_FALSE(CompletionRing::orders_shared_buffer_completions("5.19.0"));
  EXPECT_FALSE(CompletionRing::orders_shared_buffer_completions("unknown"));
}

// Geometry{.shared_buffer_bytes = 0}, or a kernel before 6.12.29: a buffer per receive.
TEST(CompletionRing, WithoutSharedBuffersEachReceiveHasABufferOfItsOwn) {
  CompletionRing ring(CompletionRing::Geometry{.entries = 8, .buffers = 4, .buffer_bytes = 32,
                                               .shared_buffer_bytes = 0});
  EXPECT_FALSE(ring.shares_buffers());
  Holder one(ring);
  Holder other(ring);
  ASSERT_NO_FATAL_FAILURE(receive_in_turn(ring, {{one, "GET /a"}, {other, "GET /b"}}));
  EXPECT_EQ(one.held[0].bytes, "GET /a");
  EXPECT_EQ(other.held[0].bytes, "GET /b");
  const auto distance = other.held[0].bytes.data() - one.held[0].bytes.data();
  EXPECT_TRUE(distance >= 32 || distance <= -32) << "two receives in one buffer";
  one.give_all_back();
  other.give_all_back();
}

TEST(CompletionRing, ASendCompletesOnceAllItsBytesAreSentEvenIntoAFullSocket) {
  CompletionRing ring;
  SocketPair pair;
  Recorder sender(ring);
  // Far more than the socket holds: the kernel sends the rest as the peer reads.
  const std::string answer(1 << 20, 'x');
  ring.send(pair.ours.get(), answer, sender);
  std::string got;
  turn_until(ring, [&] {
    char buffer[65536];
    for (ssize_t n; (n = ::recv(pair.theirs.get(), buffer, sizeof buffer, MSG_DONTWAIT)) > 0;) {
      got.append(buffer, static_cast<std::size_t>(n));
    }
    return !sender.completions.empty();
  });
  ASSERT_EQ(sender.completions.size(), 1u);
  EXPECT_EQ(sender.completions[0].result, static_cast<int>(answer.size()));
}

TEST(CompletionRing, ASendToAClosedPeerFailsWithTheErrorSendWouldGive) {
  CompletionRing ring;
  SocketPair pair;
  Recorder sender(ring);
  pair.theirs.reset();
  ring.send(pair.ours.get(), "HTTP/1.1 200 OK\r\n\r\n", sender);
  turn_until(ring, [&] { return !sender.completions.empty(); });
  EXPECT_EQ(sender.completions[0].result, -EPIPE);
}

TEST(CompletionRing, ClosingAfterAReceiveWasAskedEndsTheReceiveAndFreesTheNumber) {
  CompletionRing ring;
  SocketPair pair;
  Recorder receiver(ring);
  ring.receive(pair.ours.get(), receiver);
  ring.cancel(receiver);
  const int number = pair.ours.release();
  ring.close(number);
  turn_until(ring, [&] { return !receiver.completions.empty() && !receiver.completions.back().more; });
  // The peer sees the end: the socket is really closed, not held by the receive.
  char byte;
  ssize_t got = -1;
  const auto until = std::chrono::steady_clock::now() + 5s;
  while ((got = ::recv(pair.theirs.get(), &byte, 1, MSG_DONTWAIT)) < 0 && std::chrono::steady_clock::now() < until) {
    ring.submit_and_wait(10);
    ring.dispatch();
  }
  EXPECT_EQ(got, 0);
}

TEST(CompletionRing, ARefusedRingNamesTheCallAndWhatWasAttempted) {
  // The pool's size must be a power of two: the kernel refuses the registration.
  try {
    CompletionRing ring(CompletionRing::Geometry{.entries = 8, .buffers = 3, .buffer_bytes = 16});
    FAIL() << "a pool of 3 buffers was registered";
  } catch (const std::system_error& error) {
    EXPECT_NE(std::string(error.what()).find("io_uring_register"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("receive buffer ring"), std::string::npos) << error.what();
  }
}

TEST(EventLoop, WithACompletionRingEpollsDescriptorsAndTimersStillReachTheirHandlers) {
  EventLoop loop;
  loop.open_completion_ring();
  ASSERT_NE(loop.completion_ring(), nullptr);
  UniqueFd wakeup(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  int woken = 0;
  FunctionHandler handler([&](std::uint32_t) {
    std::uint64_t count = 0;
    ASSERT_EQ(::read(wakeup.get(), &count, sizeof count), static_cast<ssize_t>(sizeof count));
    ++woken;
  });
  loop.add(wakeup.get(), EPOLLIN, handler);
  bool fired = false;
  Timer timer(loop);
  timer.expires_after(5ms, [&] { fired = true; });

  const std::uint64_t one = 1;
  ASSERT_EQ(::write(wakeup.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
  const auto until = std::chrono::steady_clock::now() + 5s;
  while ((woken == 0 || !fired) && std::chrono::steady_clock::now() < until) loop.run_once(1000ms);
  EXPECT_EQ(woken, 1);
  EXPECT_TRUE(fired);

  // The ring asks epoll again each time: a second readiness reaches the handler too.
  ASSERT_EQ(::write(wakeup.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
  while (woken == 1 && std::chrono::steady_clock::now() < until) loop.run_once(1000ms);
  EXPECT_EQ(woken, 2);
}

}  // namespace
}  // namespace corral
