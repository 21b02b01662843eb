#include "app/app_launcher.hpp"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "common/exit_code.hpp"

namespace corral::app {
namespace {

// systemd's rule (JOURNAL_STREAM, systemd.exec(5)): stderr goes to the journal if its
// device and inode are the ones named.
bool stderr_goes_to_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat status {};
  if (stream == nullptr || ::fstat(STDERR_FILENO, &status) != 0) return false;
  unsigned long long device = 0;
  unsigned long long inode = 0;
  return std::sscanf(stream, "%llu:%llu", &device, &inode) == 2 && device == status.st_dev && inode == status.st_ino;
}

// A journal stream of this process's own, onto `fd`: the journal takes the pid of the
// stream's writer from the connection, which this process (the app, after exec) makes.
void own_journal_stream(int fd, const char* identifier, int priority) {
  const int stream = sd_journal_stream_fd(identifier, priority, 0);
  if (stream < 0) return;  // the inherited stream still works, under corral's pid
  ::dup2(stream, fd);
  ::close(stream);
}

std::string base_name(std::string_view path) {
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

int launch_app(int argc, char** argv) {
  bool ready_at_start = false;
  pid_t supervisor = 0;
  int first = 2;
  for (; first < argc; ++first) {
    const std::string_view argument = argv[first];
    if (argument == "--ready-at-start") ready_at_start = true;
    if (argument == "--supervisor-pid" && first + 1 < argc) supervisor = static_cast<pid_t>(std::atoi(argv[++first]));
    if (argument == "--") {
      ++first;
      break;
    }
  }
  if (first >= argc) {
    std::fprintf(stderr, "corral %s: no program to run\n", launch_flag);
    return exit_code::usage;
  }
  // The app goes when the supervisor goes, however it goes (SIGKILL included): an
  // orphan would keep serving on a socket that is no longer corral's to share. The
  // setting survives exec.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || (supervisor != 0 && ::getppid() != supervisor)) {
    return exit_code::failure;  // the supervisor is already gone
  }
  const auto pid = std::to_string(::getpid());
  ::setenv("LISTEN_PID", pid.c_str(), 1);
  if (std::getenv("WATCHDOG_USEC") != nullptr) ::setenv("WATCHDOG_PID", pid.c_str(), 1);
  if (stderr_goes_to_journal()) {
    const auto identifier = base_name(argv[first]);
    own_journal_stream(STDOUT_FILENO, identifier.c_str(), LOG_INFO);
    own_journal_stream(STDERR_FILENO, identifier.c_str(), LOG_WARNING);
    struct stat status {};
    if (::fstat(STDERR_FILENO, &status) == 0) {
      const auto stream = std::to_string(status.st_dev) + ":" + std::to_string(status.st_ino);
      ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
    }
  }
  // A program that says nothing is ready once started; if exec fails, it exits with
  // worker_start_failed at once, which the supervisor counts as a failed start.
  if (ready_at_start) sd_notify(0, "READY=1");
  ::execvp(argv[first], argv + first);
  std::fprintf(stderr, "corral: cannot start the app: execvp(\"%s\"): %s\n", argv[first], std::strerror(errno));
  return exit_code::worker_start_failed;
}

}  // namespace corral::app
