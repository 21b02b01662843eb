#include "worker/command_task.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-journal.h>

#include "common/journal_sink.hpp"
#include "common/system_error.hpp"
#include "common/unique_fd.hpp"

extern char** environ;

namespace corral {
namespace {

constexpr auto kill_grace = std::chrono::seconds(5);
// How often a running program's run is checked for a stop request (TaskRun has a flag
// and a deadline, not an fd to wait on).
constexpr int stop_check_ms = 100;

std::vector<char*> pointers(std::vector<std::string>& texts) {
  std::vector<char*> out;
  for (auto& text : texts) out.push_back(text.data());
  out.push_back(nullptr);
  return out;
}

// One line of the program's output, with the task's name.
void log_line(const std::string& task, const std::string& service, bool journal, std::string_view line) {
  if (!journal) {
    spdlog::info("task {}: {}", task, line);
    return;
  }
  sd_journal_send("MESSAGE=%.*s", static_cast<int>(line.size()), line.data(), "PRIORITY=%d", LOG_INFO,
                  "SYSLOG_IDENTIFIER=%s", service.c_str(), "CORRAL_TASK=%s", task.c_str(), nullptr);
}

std::string describe(int status, bool stopped) {
  const auto why = stopped ? " after it was asked to stop (timeout or drain)" : "";
  if (WIFEXITED(status)) return fmt::format("the program exited with code {}{}", WEXITSTATUS(status), why);
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return fmt::format("the program was killed by SIG{}{}", name ? name : std::to_string(WTERMSIG(status)), why);
  }
  return fmt::format("the program ended with wait status {:#x}", status);
}

// Runs `command` once, to its end: the wait status and whether it was asked to stop.
std::pair<int, bool> run_program(const TaskRun& run, const std::vector<std::string>& command,
                                 const std::string& service) {
  const auto attempt = fmt::format("starting the program of task {}", run.task());
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw_system_error("pipe2", attempt);
  UniqueFd output(ends[0]);
  UniqueFd output_writer(ends[1]);

  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&files, output_writer.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&files, output_writer.get(), STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setpgroup(&attributes, 0);  // its own group: a stop reaches its children too
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view assignment(*entry);
    if (!assignment.starts_with("CORRAL_TASK")) environment.emplace_back(assignment);
  }
  environment.push_back("CORRAL_TASK=" + run.task());
  environment.push_back(fmt::format(
      "CORRAL_TASK_SCHEDULED={}",
      std::chrono::duration_cast<std::chrono::seconds>(run.scheduled().time_since_epoch()).count()));
  environment.push_back(fmt::format("CORRAL_TASK_ATTEMPT={}", run.attempt()));
  auto arguments = command;
  auto argv = pointers(arguments);
  auto envp = pointers(environment);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, command.front().c_str(), &files, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), fmt::format("posix_spawnp(\"{}\")", command.front()));
  output_writer.reset();

  // Its exit is an event to wait on (a pidfd), like its output; a stop request is not.
  UniqueFd process(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!process.valid()) {
    ::kill(-pid, SIGKILL);
    throw_system_error("pidfd_open", attempt);
  }
  ::fcntl(output.get(), F_SETFL, O_NONBLOCK);
  const bool journal = stderr_is_journal();
  std::string pending;
  bool output_open = true;
  // Logs every complete line that has arrived; false once every writer has closed.
  const auto read_output = [&] {
    char buffer[4096];
    for (;;) {
      const auto count = ::read(output.get(), buffer, sizeof buffer);
      if (count == 0) return false;
      if (count < 0) return errno == EAGAIN || errno == EINTR;
      pending.append(buffer, static_cast<std::size_t>(count));
      for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
        log_line(run.task(), service, journal, std::string_view(pending).substr(0, end));
        pending.erase(0, end + 1);
      }
    }
  };
  bool stopped = false;
  std::optional<std::chrono::steady_clock::time_point> kill_at;
  for (;;) {
    pollfd events[2] = {{process.get(), POLLIN, 0}, {output_open ? output.get() : -1, POLLIN, 0}};
    if (::poll(events, 2, stop_check_ms) < 0 && errno != EINTR) throw_system_error("poll", "waiting for a task's program");
    if (events[1].revents != 0) output_open = read_output();
    if (events[0].revents & POLLIN) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (output_open) read_output();
      if (!pending.empty()) log_line(run.task(), service, journal, pending);
      ::kill(-pid, SIGKILL);  // whatever it left running in its group
      return {status, stopped};
    }
    if (run.stop_requested() && !stopped) {
      stopped = true;
      ::kill(-pid, SIGTERM);
      kill_at = std::chrono::steady_clock::now() + kill_grace;
    }
    if (kill_at && std::chrono::steady_clock::now() >= *kill_at) {
      ::kill(-pid, SIGKILL);
      kill_at.reset();
    }
  }
}

}  // namespace

TaskFunction command_task(std::string name, std::vector<std::string> command, std::string service_name) {
  return [name = std::move(name), command = std::move(command), service = std::move(service_name)](const TaskRun& run) {
    const auto [status, stopped] = run_program(run, command, service);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !stopped) return;
    throw std::runtime_error(describe(status, stopped));
  };
}

TaskFunctions with_command_tasks(TaskFunctions functions, const std::vector<tasks::TaskSpec>& specs,
                                 std::string_view service_name) {
  for (const auto& spec : specs) {
    if (!spec.command.empty()) functions[spec.name] = command_task(spec.name, spec.command, std::string(service_name));
  }
  return functions;
}

}  // namespace corral
