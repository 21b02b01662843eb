#include <gtest/gtest.h>

#include <sys/socket.h>

#include <cstring>
#include <string>

#include "ipc/channel.hpp"
#include "ipc/message.hpp"

namespace corral::ipc {
namespace {

std::span<const std::byte> bytes_of(const Message& message) {
  return {reinterpret_cast<const std::byte*>(&message), sizeof message};
}

TEST(Message, RoundTripsEachKind) {
  for (const auto& message : {Message::ready(3, 7, 11), Message::heartbeat(1, 2, 12345),
                              Message::suicide_notice(2, 9, "uncaught exception: boom"), Message::drain(30000)}) {
    const auto decoded = decode(bytes_of(message));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->kind, message.kind);
    EXPECT_EQ(decoded->slot, message.slot);
    EXPECT_EQ(decoded->generation, message.generation);
    EXPECT_EQ(decoded->value, message.value);
    EXPECT_EQ(decoded->reason_text(), message.reason_text());
  }
  EXPECT_EQ(Message::suicide_notice(0, 1, "why").reason_text(), "why");
  EXPECT_EQ(Message::drain(1500).value, 1500u);
}

TEST(Message, LongReasonIsCutToFitAndStaysTerminated) {
  const std::string reason(1000, 'x');
  const auto message = Message::suicide_notice(0, 1, reason);
  EXPECT_EQ(message.reason_text().size(), Message::reason_capacity - 1);
  EXPECT_TRUE(decode(bytes_of(message)));
}

TEST(Message, RejectsWhatIsNotACorralMessage) {
  const auto good = Message::heartbeat(0, 1, 0);
  EXPECT_FALSE(decode(bytes_of(good).first(sizeof good - 1))) << "short";

  auto bad_magic = good;
  bad_magic.magic = 0;
  EXPECT_FALSE(decode(bytes_of(bad_magic)));

  auto other_version = good;
  other_version.version = 2;
  EXPECT_FALSE(decode(bytes_of(other_version)));

  auto unknown_kind = good;
  unknown_kind.kind = static_cast<Kind>(99);
  EXPECT_FALSE(decode(bytes_of(unknown_kind)));

  auto unterminated = Message::suicide_notice(0, 1, "x");
  std::memset(unterminated.reason.data(), 'y', unterminated.reason.size());
  EXPECT_FALSE(decode(bytes_of(unterminated)));
}

TEST(Channel, CarriesOneMessagePerDatagram) {
  auto [supervisor, worker] = Channel::make_pair("a test");
  ASSERT_TRUE(worker.send(Message::ready(1, 4, 0)));
  ASSERT_TRUE(worker.send(Message::suicide_notice(1, 4, "fatal signal SIGSEGV")));
  Message received;
  ASSERT_EQ(supervisor.receive(received), Received::message);
  EXPECT_EQ(received.kind, Kind::ready);
  ASSERT_EQ(supervisor.receive(received), Received::message);
  EXPECT_EQ(received.kind, Kind::suicide_notice);
  EXPECT_EQ(received.reason_text(), "fatal signal SIGSEGV");
  EXPECT_EQ(supervisor.receive(received), Received::nothing);
}

TEST(Channel, ReportsMalformedDatagramsAndThePeerClosing) {
  auto [supervisor, worker] = Channel::make_pair("a test");
  const char junk[] = "junk";
  ASSERT_EQ(::send(worker.fd(), junk, sizeof junk, 0), static_cast<ssize_t>(sizeof junk));
  Message received;
  EXPECT_EQ(supervisor.receive(received), Received::malformed);
  worker.close();
  EXPECT_EQ(supervisor.receive(received), Received::closed);
  EXPECT_FALSE(supervisor.send(Message::drain(1))) << "a send to a closed peer fails softly";
}

}  // namespace
}  // namespace corral::ipc
