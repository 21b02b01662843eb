// The sd_notify(3) protocol as corral reads it from an app worker, and the socket a
// worker's $NOTIFY_SOCKET names.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include <systemd/sd-daemon.h>

#include "sd/notification.hpp"
#include "sd/notify_socket.hpp"

namespace corral::sd {
namespace {

TEST(Notification, ReadsEveryAssignmentCorralActsOn) {
  const auto note = parse_notification("READY=1\nSTATUS=serving 3 clients\nWATCHDOG=1\n");
  EXPECT_TRUE(note.ready);
  EXPECT_TRUE(note.watchdog);
  EXPECT_FALSE(note.stopping);
  EXPECT_EQ(note.status, "serving 3 clients");
  EXPECT_TRUE(note.ignored.empty());
  const auto stopping = parse_notification("STOPPING=1\nERRNO=104");
  EXPECT_TRUE(stopping.stopping);
  EXPECT_EQ(stopping.error_number, 104);
  EXPECT_FALSE(stopping.status);
  EXPECT_TRUE(parse_notification("WATCHDOG=trigger").watchdog_trigger);
  EXPECT_FALSE(parse_notification("WATCHDOG=trigger").watchdog);
  EXPECT_TRUE(parse_notification("RELOADING=1\nMONOTONIC_USEC=5").reloading);
  EXPECT_TRUE(parse_notification("RELOADING=1\nMONOTONIC_USEC=5").ignored.empty());
  EXPECT_TRUE(parse_notification("BARRIER=1").ignored.empty()) << "systemd-notify's barrier is not a mistake";
  EXPECT_EQ(parse_notification("STATUS=a=b").status, "a=b") << "the value is the rest of the line";
}

TEST(Notification, NamesWhatItDoesNotActOnAndWhatIsNotAnAssignment) {
  const auto note = parse_notification("MAINPID=42\nEXTEND_TIMEOUT_USEC=5000000\nREADY=0\nhello\n=1\nERRNO=x\n\n");
  EXPECT_FALSE(note.ready) << "READY=0 is not ready";
  EXPECT_EQ(note.ignored, (std::vector<std::string>{"MAINPID", "EXTEND_TIMEOUT_USEC"}));
  EXPECT_EQ(note.malformed, (std::vector<std::string>{"hello", "=1", "ERRNO=x"}));
  EXPECT_FALSE(note.error_number);
}

TEST(NotifySocket, ReceivesWhatSdNotifySendsToItsAddressAndNamesTheSender) {
  auto socket = NotifySocket::open("test.1");
  EXPECT_EQ(socket.address(), "@corral/" + std::to_string(::getpid()) + "/test.1");
  NotifySocket::Datagram datagram;
  EXPECT_EQ(socket.receive(datagram), NotifySocket::Result::nothing);
  ::setenv("NOTIFY_SOCKET", socket.address().c_str(), 1);
  ASSERT_GT(sd_notify(0, "READY=1\nSTATUS=up"), 0) << "libsystemd takes the '@' address";
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_EQ(socket.receive(datagram), NotifySocket::Result::datagram);
  EXPECT_EQ(datagram.text, "READY=1\nSTATUS=up");
  EXPECT_EQ(datagram.sender, ::getpid());
  EXPECT_THROW(NotifySocket::open("test.1"), std::system_error) << "the name is taken";
}

}  // namespace
}  // namespace corral::sd
