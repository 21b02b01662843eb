#include "support/child_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace corral::test {
namespace {

// glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++; the system call is all we need.
int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

void kill_tree(pid_t pid) {
  for (const pid_t child : children_of(pid)) kill_tree(child);
  ::kill(pid, SIGKILL);
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_environment,
                           const std::vector<std::pair<int, int>>& fds) {
  int output[2];
  if (::pipe2(output, O_CLOEXEC) != 0) throw std::runtime_error("pipe2() failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, output[1], 1);
  posix_spawn_file_actions_adddup2(&actions, output[1], 2);
  for (const auto& [ours, theirs] : fds) posix_spawn_file_actions_adddup2(&actions, ours, theirs);

  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string variable = *entry;
    if (variable.starts_with("LISTEN_") || variable.starts_with("NOTIFY_SOCKET=")) continue;
    environment.push_back(variable);
  }
  environment.insert(environment.end(), extra_environment.begin(), extra_environment.end());
  std::vector<char*> env_pointers;
  for (auto& variable : environment) env_pointers.push_back(variable.data());
  env_pointers.push_back(nullptr);
  std::vector<char*> arg_pointers;
  for (const auto& argument : argv) arg_pointers.push_back(const_cast<char*>(argument.c_str()));
  arg_pointers.push_back(nullptr);

  const int rc = posix_spawnp(&pid_, argv.at(0).c_str(), &actions, nullptr, arg_pointers.data(), env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(output[1]);
  if (rc != 0) {
    ::close(output[0]);
    throw std::runtime_error("posix_spawnp(" + argv[0] + ") failed: " + std::strerror(rc));
  }
  pidfd_ = pidfd_open(pid_);
  reader_ = std::thread([this, fd = output[0]] { read_output(fd); });
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    kill_tree(pid_);
    ::waitpid(pid_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (pidfd_ >= 0) ::close(pidfd_);
}

void ChildProcess::signal(int signal) const {
  ::kill(pid_, signal);
}

void ChildProcess::read_output(int fd) {
  char buffer[4096];
  for (;;) {
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard lock(mutex_);
    partial_.append(buffer, static_cast<std::size_t>(n));
    for (auto newline = partial_.find('\n'); newline != std::string::npos; newline = partial_.find('\n')) {
      lines_.push_back(partial_.substr(0, newline));
      partial_.erase(0, newline + 1);
    }
    changed_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  output_closed_ = true;
  changed_.notify_all();
}

std::optional<std::vector<std::string>> ChildProcess::wait_for_line(const std::regex& pattern,
                                                                   milliseconds timeout, std::size_t from) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    for (; from < lines_.size(); ++from) {
      std::smatch match;
      if (std::regex_search(lines_[from], match, pattern)) {
        return std::vector<std::string>(match.begin(), match.end());
      }
    }
    // Once every writer has gone, no further line can come.
    if (output_closed_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

bool ChildProcess::wait_for_lines(const std::regex& pattern, std::size_t count, milliseconds timeout,
                                  std::size_t from) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  std::size_t found = 0;
  for (;;) {
    for (; from < lines_.size(); ++from) {
      if (std::regex_search(lines_[from], pattern) && ++found >= count) return true;
    }
    if (output_closed_) return false;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) return false;
  }
}

std::size_t ChildProcess::line_count() const {
  std::lock_guard lock(mutex_);
  return lines_.size();
}

std::string ChildProcess::output() const {
  std::lock_guard lock(mutex_);
  std::string all;
  for (const auto& line : lines_) all += line + "\n";
  return all + partial_;
}

std::optional<int> ChildProcess::wait_exit(milliseconds timeout) {
  if (!reaped_) {
    pollfd exited{pidfd_, POLLIN, 0};
    if (::poll(&exited, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    // Until it is reaped, an exited process keeps its accounting in /proc/PID/stat.
    std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto fields = text.substr(text.rfind(')') + 2);
    std::istringstream in(fields);
    std::string field;
    unsigned long long user = 0, system = 0;
    for (int index = 3; in >> field; ++index) {  // fields 14 and 15: utime, stime
      if (index == 14) user = std::stoull(field);
      if (index == 15) {
        system = std::stoull(field);
        break;
      }
    }
    cpu_seconds_at_exit_ = static_cast<double>(user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    ::waitpid(pid_, &wait_status_, 0);
    reaped_ = true;
  }
  // Its last lines may still be in the pipe: wait for end-of-file (every process that
  // shared the pipe has gone) so that output() is complete.
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [this] { return output_closed_; });
  return wait_status_;
}

long log_time_ms(const std::string& line) {
  std::smatch match;
  if (!std::regex_search(line, match, std::regex(R"( (\d\d):(\d\d):(\d\d)\.(\d{3}) )"))) return -1;
  return ((std::stol(match[1]) * 60 + std::stol(match[2])) * 60 + std::stol(match[3])) * 1000 + std::stol(match[4]);
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> children;
  std::ifstream list("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  for (pid_t child; list >> child;) children.push_back(child);
  return children;
}

bool wait_gone(pid_t pid, milliseconds timeout) {
  const int fd = pidfd_open(pid);
  if (fd < 0) return errno == ESRCH;
  pollfd exited{fd, POLLIN, 0};
  const bool gone = ::poll(&exited, 1, static_cast<int>(timeout.count())) > 0;
  ::close(fd);
  return gone;
}

std::string corral_binary() {
  const char* path = std::getenv("CORRAL_BINARY");
  if (path == nullptr) throw std::runtime_error("CORRAL_BINARY is not set (meson test sets it)");
  return path;
}

std::string source_root() {
  const char* path = std::getenv("CORRAL_SOURCE_ROOT");
  if (path == nullptr) throw std::runtime_error("CORRAL_SOURCE_ROOT is not set (meson test sets it)");
  return path;
}

std::string test_service_binary() {
  const char* path = std::getenv("CORRAL_TEST_SERVICE");
  if (path == nullptr) throw std::runtime_error("CORRAL_TEST_SERVICE is not set (meson test sets it)");
  return path;
}

Ran run_to_exit(const std::vector<std::string>& argv) {
  ChildProcess process(argv);
  const auto status = process.wait_exit(10s);
  return {status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, process.output()};
}

}  // namespace corral::test
