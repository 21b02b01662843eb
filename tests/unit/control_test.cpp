// The control socket: its protocol, the status view, and the server driven like the
// supervisor drives it.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include <cstdlib>
#include <cstring>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "control/client.hpp"
#include "control/control_server.hpp"
#include "control/pool_view.hpp"
#include "control/protocol.hpp"
#include "control/socket_path.hpp"
#include "net/peer_credentials.hpp"
#include "support/temp_dir.hpp"

namespace corral::control {
namespace {

using namespace std::chrono_literals;

TEST(ControlProtocol, ReadsAStatusCommand) {
  EXPECT_EQ(parse_command(R"({"version": 1, "command": "status"})").name, "status");
  EXPECT_EQ(parse_command(command_line("status")).name, "status");
}

TEST(ControlProtocol, RefusesWhatIsNotACommandSayingWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"hello", "not JSON"},
      {"[1, 2]", "JSON object"},
      {R"({"command": "status"})", "version 1"},
      {R"({"version": 2, "command": "status"})", "version 1"},
      {R"({"version": 1})", "no \"command\""},
      {R"({"version": 1, "command": "reboot"})", "unknown command \"reboot\""},
  };
  for (const auto& [line, reason] : cases) {
    try {
      parse_command(line);
      ADD_FAILURE() << line << " was accepted";
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(reason), std::string::npos) << error.what();
    }
  }
}

TEST(ControlProtocol, AnswersCarryTheVersionAndTheResultOrTheError) {
  const auto ok = ok_answer("status", R"({"a":1})");
  EXPECT_EQ(ok, "{\"version\":1,\"ok\":true,\"status\":{\"a\":1}}\n");
  EXPECT_EQ(answer_result(ok, "status"), R"({"a":1})");
  const auto error = error_answer("no such \"thing\"");
  EXPECT_EQ(error.back(), '\n');
  try {
    answer_result(error, "status");
    ADD_FAILURE() << "an error answer gave a result";
  } catch (const std::runtime_error& refused) {
    EXPECT_STREQ(refused.what(), "no such \"thing\"");
  }
  EXPECT_THROW(answer_result("garbage", "status"), std::invalid_argument);
}

PoolView sample_view() {
  PoolView view;
  view.service = "corral";
  view.version = "0.1.0";
  view.supervisor_pid = 100;
  view.uptime_seconds = 3725;
  view.pool_size = 2;
  view.mode = "serving";
  view.store = "sqlite /var/lib/corral/store.sqlite3";
  view.store_state = "up";
  view.requests = 12345;
  view.restarts = 1;
  view.workers.push_back({0, 101, 1, "ready", 3725, 10000, 120.5, 12, 0, "", 8 << 20, 3.5, ""});
  view.workers.push_back({1, 105, 2, "ready", 65, 2345, 30.0, 4, 1, "killed by signal 9", 7 << 20, 1.0, ""});
  return view;
}

TEST(PoolView, RoundTripsThroughJson) {
  const auto view = sample_view();
  const auto back = pool_view_from_json(to_json(view));
  EXPECT_EQ(back.service, "corral");
  EXPECT_EQ(back.store_state, "up");
  ASSERT_EQ(back.workers.size(), 2u);
  EXPECT_EQ(back.workers[1].pid, 105);
  EXPECT_EQ(back.workers[1].last_exit, "killed by signal 9");
  EXPECT_DOUBLE_EQ(back.workers[0].requests_per_second, 120.5);
  EXPECT_THROW(pool_view_from_json("{\"service\": 3}"), std::invalid_argument);
}

TEST(PoolView, PrintsATableWithAHeaderAndARowPerWorker) {
  const auto table = render_table(sample_view());
  EXPECT_NE(table.find("corral (pid 100, 0.1.0) · serving · 2/2 workers ready · store sqlite "
                       "/var/lib/corral/store.sqlite3 up · 12345 requests · 1 restarts · up 1h 02m"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("killed by signal 9"), std::string::npos) << table;
  EXPECT_NE(table.find("8.0 MiB"), std::string::npos) << table;
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 4);
}

TEST(PoolView, ShowsAnAppsWorkersWithTheirStatusAndNoRequestCounts) {
  auto view = sample_view();
  view.app = "node server.js";
  view.workers[0].status = "serving 3 websockets";
  const auto back = pool_view_from_json(to_json(view));
  EXPECT_EQ(back.app, "node server.js");
  EXPECT_EQ(back.workers[0].status, "serving 3 websockets");
  const auto table = render_table(back);
  EXPECT_NE(table.find("2/2 workers ready · app node server.js · - requests · 1 restarts"), std::string::npos)
      << table;
  EXPECT_EQ(table.find("10000"), std::string::npos) << "an app's requests are not corral's to count\n" << table;
  EXPECT_NE(table.find("\n      serving 3 websockets\n"), std::string::npos) << table;
  // An answer from before these fields existed still reads.
  auto json = nlohmann::json::parse(to_json(sample_view()));
  json.erase("app");
  json["workers"][0].erase("status");
  EXPECT_EQ(pool_view_from_json(json.dump()).app, "");
}

TEST(SocketPath, FollowsTheRuntimeDirectoryOfSystemd) {
  ::setenv("RUNTIME_DIRECTORY", "/run/hello:/run/other", 1);
  EXPECT_EQ(default_socket_path("hello"), "/run/hello/control.sock");
  ::unsetenv("RUNTIME_DIRECTORY");
  if (::geteuid() == 0) {
    EXPECT_EQ(default_socket_path("hello"), "/run/hello/control.sock");
  }
}

// A ControlServer served by a thread the way the supervisor's loop serves it.
class ServedControl {
 public:
  explicit ServedControl(std::string path)
      : server_(std::move(path), [](const std::string& line) {
          parse_command(line);
          return ok_answer("status", "{\"fine\":true}");
        }) {
    thread_ = std::thread([this] {
      while (!stop_) {
        std::vector<pollfd> polled;
        server_.add_to(polled);
        ::poll(polled.data(), polled.size(), 10);
        server_.handle(polled, std::chrono::steady_clock::now());
      }
    });
  }
  ~ServedControl() {
    stop_ = true;
    thread_.join();
  }
  const std::string& path() const { return server_.path(); }

 private:
  ControlServer server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(PeerCredentials, NameTheProcessAtTheOtherEndOrTheFailingCall) {
  int ends[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends), 0);
  const auto peer = net::peer_credentials(ends[0]);
  EXPECT_EQ(peer.pid, ::getpid());
  EXPECT_EQ(peer.uid, ::geteuid());
  ::close(ends[0]);
  ::close(ends[1]);
  int pipe_ends[2];
  ASSERT_EQ(::pipe(pipe_ends), 0);
  try {
    net::peer_credentials(pipe_ends[0]);
    ADD_FAILURE() << "a pipe has no peer credentials";
  } catch (const std::system_error& error) {
    EXPECT_NE(std::string(error.what()).find("getsockopt(SO_PEERCRED)"), std::string::npos) << error.what();
  }
  ::close(pipe_ends[0]);
  ::close(pipe_ends[1]);
}

TEST(ControlServer, AnswersCommandsAndOnlyItsOwnerMayUseTheSocket) {
  test::TempDir directory;
  ServedControl served(directory / "run/control.sock");
  struct stat status {};
  ASSERT_EQ(::stat(served.path().c_str(), &status), 0);
  EXPECT_TRUE(S_ISSOCK(status.st_mode));
  EXPECT_EQ(status.st_mode & 0777, 0600u);
  EXPECT_EQ(status.st_uid, ::geteuid());
  EXPECT_EQ(answer_result(exchange(served.path(), command_line("status"), 2s), "status"), "{\"fine\":true}");
  // A garbage command gets an error answer; the next one on the same connection works.
  EXPECT_NE(exchange(served.path(), "hello\n", 2s).find("\"ok\":false"), std::string::npos);
}

TEST(ControlServer, AnOversizedCommandGetsAnErrorAndTheConnectionCloses) {
  test::TempDir directory;
  ServedControl served(directory / "control.sock");
  const auto answer = exchange(served.path(), std::string(10000, 'x'), 2s);
  EXPECT_NE(answer.find("longer than 4096 bytes"), std::string::npos) << answer;
  EXPECT_EQ(answer_result(exchange(served.path(), command_line("status"), 2s), "status"), "{\"fine\":true}");
}

TEST(ControlServer, AnswersPipelinedCommandsOneAtATimeWithoutLosingAny) {
  test::TempDir directory;
  ServedControl served(directory / "control.sock");
  std::string commands;
  for (int i = 0; i < 200; ++i) commands += command_line("status");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, served.path().c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::send(fd, commands.data(), commands.size(), 0), static_cast<ssize_t>(commands.size()));
  ::shutdown(fd, SHUT_WR);  // a half-close: the answers still come
  std::string answers;
  char buffer[65536];
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ssize_t got;
  while (std::count(answers.begin(), answers.end(), '\n') < 200 && (got = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
    answers.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  EXPECT_EQ(std::count(answers.begin(), answers.end(), '\n'), 200);
}

TEST(ControlServer, RefusesToTakeOverALiveSocketButReplacesAStaleOne) {
  test::TempDir directory;
  const auto path = directory / "control.sock";
  {
    ServedControl first(path);
    EXPECT_THROW(ControlServer(path, [](const std::string&) { return std::string(); }), std::runtime_error);
  }
  // A stale file, as a supervisor killed with SIGKILL leaves it.
  const int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, path.c_str());
  ASSERT_EQ(::bind(stale, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(stale);
  ServedControl second(path);
  EXPECT_EQ(answer_result(exchange(path, command_line("status"), 2s), "status"), "{\"fine\":true}");
}

TEST(ControlClient, SaysWhenNothingRunsThere) {
  try {
    exchange("/nonexistent/control.sock", command_line("status"), 1s);
    FAIL() << "connected to nothing";
  } catch (const ControlError& error) {
    EXPECT_NE(std::string(error.what()).find("not running"), std::string::npos) << error.what();
  }
}

// A server of another user (nobody) at `path`: answers one command, then exits.
pid_t serve_as_nobody(const std::string& path) {
  int ready[2];
  if (::pipe(ready) != 0) return -1;
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(ready[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(1);
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener, 4) != 0) {
      ::_exit(2);
    }
    if (::write(ready[1], "r", 1) != 1) ::_exit(3);
    const int client = ::accept(listener, nullptr, nullptr);
    char buffer[256];
    if (::read(client, buffer, sizeof buffer) <= 0) ::_exit(4);
    const char answer[] = "{\"version\": 1, \"result\": {}}\n";
    if (::write(client, answer, sizeof answer - 1) < 0) ::_exit(5);
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte = 0;
  const bool listening = ::read(ready[0], &byte, 1) == 1;
  ::close(ready[0]);
  return listening ? child : -1;
}

TEST(ControlClient, TrustsOnlyRootItsOwnUserOrTheOwnerOfTheSocketsDirectory) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to serve as another user";
  test::TempDir base;
  std::filesystem::permissions(base.path(), std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
  // A directory anyone may write to: a socket of nobody's there is not the service's.
  const std::filesystem::path open_directory = base / "open";
  std::filesystem::create_directory(open_directory);
  std::filesystem::permissions(open_directory, std::filesystem::perms::all | std::filesystem::perms::sticky_bit);
  const pid_t stranger = serve_as_nobody((open_directory / "control.sock").string());
  ASSERT_GT(stranger, 0);
  try {
    exchange((open_directory / "control.sock").string(), command_line("status"), 2s);
    ADD_FAILURE() << "trusted a stranger's socket";
  } catch (const ControlError& error) {
    EXPECT_NE(std::string(error.what()).find("uid 65534"), std::string::npos) << error.what();
  }
  ::kill(stranger, SIGKILL);
  ::waitpid(stranger, nullptr, 0);
  // A directory of nobody's own, but below /tmp, where anyone could have made it.
  const std::filesystem::path made_in_tmp = base / "made";
  std::filesystem::create_directory(made_in_tmp);
  ASSERT_EQ(::chown(made_in_tmp.c_str(), 65534, 65534), 0);
  const pid_t squatter = serve_as_nobody((made_in_tmp / "control.sock").string());
  ASSERT_GT(squatter, 0);
  EXPECT_THROW(exchange((made_in_tmp / "control.sock").string(), command_line("status"), 2s), ControlError);
  ::kill(squatter, SIGKILL);
  ::waitpid(squatter, nullptr, 0);
  // nobody's own directory in /run, as RuntimeDirectory= makes it for the service's user.
  char run_directory[] = "/run/corral-test-XXXXXX";
  ASSERT_NE(::mkdtemp(run_directory), nullptr);
  ::chmod(run_directory, 0755);
  const std::filesystem::path own_directory = std::filesystem::path(run_directory) / "own";
  std::filesystem::create_directory(own_directory);
  ASSERT_EQ(::chown(own_directory.c_str(), 65534, 65534), 0);
  const pid_t service = serve_as_nobody((own_directory / "control.sock").string());
  ASSERT_GT(service, 0);
  EXPECT_NO_THROW(exchange((own_directory / "control.sock").string(), command_line("status"), 2s));
  ::waitpid(service, nullptr, 0);
  std::filesystem::remove_all(run_directory);
}

}  // namespace
}  // namespace corral::control
