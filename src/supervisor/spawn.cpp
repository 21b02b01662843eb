#include "supervisor/spawn.hpp"

#include <signal.h>
#include <spawn.h>

#include <memory>

#include "common/system_error.hpp"

extern char** environ;

namespace corral {
namespace {

struct FileActions {
  posix_spawn_file_actions_t actions;
  FileActions() { posix_spawn_file_actions_init(&actions); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions); }
};

struct Attributes {
  posix_spawnattr_t attributes;
  Attributes() { posix_spawnattr_init(&attributes); }
  ~Attributes() { posix_spawnattr_destroy(&attributes); }
};

}  // namespace

pid_t spawn_process(const std::string& executable, const std::string& argv0,
                    const std::vector<std::string>& arguments, std::span<const int> inherited_fds) {
  const auto attempt = "starting a worker process";
  FileActions files;
  for (const int fd : inherited_fds) {
    // dup2 onto itself clears FD_CLOEXEC in the child only (glibc >= 2.29).
    if (const int rc = posix_spawn_file_actions_adddup2(&files.actions, fd, fd); rc != 0) {
      throw_system_error(rc, "posix_spawn_file_actions_adddup2", attempt);
    }
  }
  Attributes attributes;
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes.attributes, &none);
  posix_spawnattr_setsigdefault(&attributes.attributes, &all);
  posix_spawnattr_setflags(&attributes.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(argv0.c_str()));
  for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);

  pid_t pid = 0;
  if (const int rc = posix_spawn(&pid, executable.c_str(), &files.actions, &attributes.attributes,
                                 argv.data(), environ);
      rc != 0) {
    throw_system_error(rc, "posix_spawn", attempt);
  }
  return pid;
}

}  // namespace corral
