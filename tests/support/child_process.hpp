#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace corral::test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// A process started by a test, with its stdout and stderr collected line by line (a
// thread keeps reading, so the child never blocks on a full pipe). Killed, with every
// process it started, when the object goes away.
class ChildProcess {
 public:
  // `fds` maps an fd of ours to the fd number the child gets.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_environment = {},
               const std::vector<std::pair<int, int>>& fds = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signal) const;

  // The first line at index >= `from` that matches, waiting up to `timeout` for it:
  // [0] is the whole match, [1..] the groups.
  std::optional<std::vector<std::string>> wait_for_line(const std::regex& pattern, milliseconds timeout,
                                                        std::size_t from = 0);
  // Waits up to `timeout` until `count` lines at index >= `from` match.
  bool wait_for_lines(const std::regex& pattern, std::size_t count, milliseconds timeout, std::size_t from = 0);
  std::size_t line_count() const;
  std::string output() const;  // everything so far, for failure messages

  // The wait status once the process has exited, or nullopt at the deadline.
  std::optional<int> wait_exit(milliseconds timeout);
  // CPU time (user + system) the process itself used, read as it exited.
  double cpu_seconds_at_exit() const { return cpu_seconds_at_exit_; }

 private:
  void read_output(int fd);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
  double cpu_seconds_at_exit_ = 0;
  int pidfd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  std::string partial_;
  bool output_closed_ = false;
  std::thread reader_;
};

// Milliseconds of the day from a corral log line's "HH:MM:SS.mmm", or -1.
long log_time_ms(const std::string& line);

// Children of `pid`, from /proc.
std::vector<pid_t> children_of(pid_t pid);
// Waits (on a pidfd) until `pid` has exited; true if it did before the deadline.
bool wait_gone(pid_t pid, milliseconds timeout);

// The path of the built corral binary (CORRAL_BINARY, set by meson).
std::string corral_binary();
// The source tree (CORRAL_SOURCE_ROOT, set by meson): examples and test apps.
std::string source_root();
// The path of the tests' own service (CORRAL_TEST_SERVICE, set by meson).
std::string test_service_binary();

// A command run to its end (10 s at most): its exit code (-1 if it did not exit) and
// everything it printed.
struct Ran {
  int exit_code = -1;
  std::string output;
};
Ran run_to_exit(const std::vector<std::string>& argv);

}  // namespace corral::test
