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

TEST(Message, TaskMessagesCarryTheRunAndItsOutcome) {
  TaskFields fields;
  fields.run = 42;
  fields.timeout_ms = 60'000;
  fields.lock_ms = 90'000;
  fields.token = 0xfeedULL;
  fields.attempt = 2;
  const auto order = decode(bytes_of(Message::run_task("purge-sessions", 1'700'000'000'000ULL, fields)));
  ASSERT_TRUE(order);
  EXPECT_EQ(order->kind, Kind::run_task);
  EXPECT_EQ(order->reason_text(), "purge-sessions");
  EXPECT_EQ(order->value, 1'700'000'000'000ULL);
  EXPECT_EQ(order->task.run, 42U);
  EXPECT_EQ(order->task.lock_ms, 90'000U);
  EXPECT_EQ(order->task.token, 0xfeedULL);
  EXPECT_EQ(order->task.attempt, 2U);
  const auto started = decode(bytes_of(Message::task_started(1, 3, 42, 123)));
  ASSERT_TRUE(started);
  EXPECT_EQ(started->kind, Kind::task_started);
  EXPECT_EQ(started->task.run, 42U);
  EXPECT_EQ(started->value, 123U);
  const auto ended = decode(bytes_of(Message::task_ended(1, 3, 42, TaskEnd::failed, 5000, std::string(500, 'e'))));
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->kind, Kind::task_ended);
  EXPECT_EQ(static_cast<TaskEnd>(ended->value), TaskEnd::failed);
  EXPECT_EQ(ended->task.duration_us, 5000U);
  EXPECT_EQ(ended->reason_text().size(), Message::reason_capacity - 1) << "the error is cut to fit";
  EXPECT_EQ(to_string(Kind::run_task), "run task");
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
  other_version.version = Message::version_value + 1;
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
