#include "supervisor/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include "common/system_error.hpp"
#include "common/unique_fd.hpp"

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

std::vector<char*> pointers(const std::vector<std::string>& texts) {
  std::vector<char*> out;
  for (const auto& text : texts) out.push_back(const_cast<char*>(text.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

pid_t spawn_process(const SpawnRequest& request) {
  const auto attempt = "starting a worker process";
  FileActions files;
  const auto dup2_in_child = [&](int from, int to) {
    // dup2 clears FD_CLOEXEC in the child only, even onto itself (glibc >= 2.29).
    if (const int rc = posix_spawn_file_actions_adddup2(&files.actions, from, to); rc != 0) {
      throw_system_error(rc, "posix_spawn_file_actions_adddup2", attempt);
    }
  };
  for (const int fd : request.inherited_fds) dup2_in_child(fd, fd);
  // Copies above the range 3..3+n first, so that moving one into place never overwrites
  // another that is still to be moved (a socket from systemd is itself fd 3).
  const int first_free = 3 + static_cast<int>(request.fds_from_3.size());
  std::vector<UniqueFd> copies;
  for (std::size_t i = 0; i < request.fds_from_3.size(); ++i) {
    copies.emplace_back(::fcntl(request.fds_from_3[i], F_DUPFD_CLOEXEC, first_free));
    if (!copies.back().valid()) throw_system_error("fcntl(F_DUPFD_CLOEXEC)", attempt);
    dup2_in_child(copies.back().get(), 3 + static_cast<int>(i));
  }
  if (!request.working_directory.empty()) {
    if (const int rc = posix_spawn_file_actions_addchdir_np(&files.actions, request.working_directory.c_str());
        rc != 0) {
      throw_system_error(rc, "posix_spawn_file_actions_addchdir_np", attempt);
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

  std::vector<std::string> argument_texts{request.argv0};
  argument_texts.insert(argument_texts.end(), request.arguments.begin(), request.arguments.end());
  auto argv = pointers(argument_texts);
  auto environment = request.environment ? pointers(*request.environment) : std::vector<char*>{};
  pid_t pid = 0;
  if (const int rc = posix_spawn(&pid, request.executable.c_str(), &files.actions, &attributes.attributes,
                                 argv.data(), request.environment ? environment.data() : environ);
      rc != 0) {
    throw_system_error(rc, "posix_spawn", attempt);
  }
  return pid;
}

}  // namespace corral
