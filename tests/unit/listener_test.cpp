// The Listener on a real listening socket on 127.0.0.1, driven turn by turn.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "net/endpoint.hpp"
#include "worker/listener.hpp"

namespace corral {
namespace {

using namespace std::chrono_literals;

class ListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    listen_fd_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(listen_fd_.valid());
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(listen_fd_.get(), 16), 0);
    socklen_t length = sizeof address;
    ASSERT_EQ(::getsockname(listen_fd_.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
    address_ = address;
  }

  // A client connection, complete in the kernel's queue once connect() returns.
  void connect_client() {
    UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<const sockaddr*>(&address_), sizeof address_), 0);
    clients_.push_back(std::move(client));
  }

  std::unique_ptr<Listener> make_listener() {
    return std::make_unique<Listener>(
        loop_, listen_fd_.get(), [this](UniqueFd socket) { accepted_.push_back(std::move(socket)); },
        [](int) {});
  }

  EventLoop loop_;
  UniqueFd listen_fd_;
  sockaddr_in address_{};
  std::vector<UniqueFd> clients_;
  std::vector<UniqueFd> accepted_;
};

TEST_F(ListenerTest, AcceptsOneConnectionPerWakeUpByDefault) {
  auto listener = make_listener();
  listener->start();
  connect_client();
  connect_client();
  loop_.run_once(1s);
  EXPECT_EQ(accepted_.size(), 1u);
  loop_.run_once(1s);  // level-triggered: the second is still announced
  EXPECT_EQ(accepted_.size(), 2u);
}

// Answers leave at once (no Nagle delay): every accepted socket has TCP_NODELAY, which
// it inherits from the listening socket the Listener set it on.
TEST_F(ListenerTest, AcceptedConnectionsSendWithoutNaglesDelay) {
  auto listener = make_listener();
  listener->start();
  connect_client();
  loop_.run_once(1s);
  ASSERT_EQ(accepted_.size(), 1u);
  int no_delay = 0;
  socklen_t length = sizeof no_delay;
  ASSERT_EQ(::getsockopt(accepted_[0].get(), IPPROTO_TCP, TCP_NODELAY, &no_delay, &length), 0);
  EXPECT_EQ(no_delay, 1);
  ASSERT_EQ(::getsockopt(listen_fd_.get(), IPPROTO_TCP, TCP_NODELAY, &no_delay, &length), 0);
  EXPECT_EQ(no_delay, 1);
}

// The socket corral binds itself has TCP_NODELAY before listen(): a connection queued
// before any worker watches it (while the workers start) has it too.
TEST(BoundListeningSocket, ConnectionsQueuedBeforeAnyWorkerAcceptsSendWithoutNaglesDelay) {
  const auto listening = net::bind_listening_socket(net::Endpoint{"127.0.0.1", 0}, 16);
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(listening.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  UniqueFd accepted(::accept4(listening.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted.valid());
  int no_delay = 0;
  socklen_t option_length = sizeof no_delay;
  ASSERT_EQ(::getsockopt(accepted.get(), IPPROTO_TCP, TCP_NODELAY, &no_delay, &option_length), 0);
  EXPECT_EQ(no_delay, 1);
}

// Connections already queued when a worker drains are left to the other workers.
TEST_F(ListenerTest, StopLeavesQueuedConnectionsToOthers) {
  auto listener = make_listener();
  listener->start();
  connect_client();
  listener->stop();
  loop_.run_once(0ms);
  EXPECT_TRUE(accepted_.empty());
  EXPECT_GE(UniqueFd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)).get(), 0);
}

TEST_F(ListenerTest, StopWithAnEmptyQueueTakesNothing) {
  auto listener = make_listener();
  listener->start();
  listener->stop();
  EXPECT_TRUE(accepted_.empty());
}

TEST_F(ListenerTest, DestroyingAListenerTakesNothing) {
  auto listener = make_listener();
  listener->start();
  connect_client();
  listener.reset();
  EXPECT_TRUE(accepted_.empty());
}

TEST_F(ListenerTest, APausedListenerTakesNothingUntilResumed) {
  auto listener = make_listener();
  listener->start();
  listener->set_paused(true);
  connect_client();
  loop_.run_once(0ms);
  EXPECT_TRUE(accepted_.empty());
  listener->set_paused(false);
  loop_.run_once(1s);
  EXPECT_EQ(accepted_.size(), 1u);
}

}  // namespace
}  // namespace corral
