#include "tasks/last_due_file.hpp"

#include <fcntl.h>
#include <cerrno>
#include <unistd.h>

#include <sstream>

#include <fmt/format.h>

#include "common/system_error.hpp"
#include "common/unique_fd.hpp"
#include "tasks/task_spec.hpp"

namespace corral::tasks {

LastDue load_last_due(const std::filesystem::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return {};
    throw_system_error("open", "reading the tasks' last runs from " + file.string());
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const auto count = ::read(fd.get(), buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) throw_system_error("read", "reading the tasks' last runs from " + file.string());
    if (count == 0) break;
    text.append(buffer, static_cast<std::size_t>(count));
  }
  LastDue last_due;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    std::int64_t ms = 0;
    if (fields >> name >> ms && valid_task_name(name)) last_due[name] = WallTime(std::chrono::milliseconds(ms));
  }
  return last_due;
}

void save_last_due(const std::filesystem::path& file, const LastDue& last_due) {
  std::string text;
  for (const auto& [name, due] : last_due) {
    text += fmt::format("{} {}\n", name, due.time_since_epoch().count());
  }
  const auto temporary = file.string() + ".new";
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) throw_system_error("open", "writing the tasks' last runs to " + temporary);
  const auto written = ::write(fd.get(), text.data(), text.size());
  if (written < 0) throw_system_error("write", "writing the tasks' last runs to " + temporary);
  if (written != static_cast<ssize_t>(text.size())) {
    throw_system_error(ENOSPC, "write", "writing the tasks' last runs to " + temporary + " (a short write)");
  }
  // On disk before the rename: otherwise a power loss can leave the new name on an
  // empty file, and every run the tasks missed would look new (ext4 and xfs order only
  // the rename's metadata).
  if (::fsync(fd.get()) != 0) throw_system_error("fsync", "writing the tasks' last runs to " + temporary);
  fd.reset();
  if (::rename(temporary.c_str(), file.c_str()) != 0) {
    throw_system_error("rename", "replacing " + file.string());
  }
  // And the rename itself: the directory's entry.
  UniqueFd directory(::open(file.parent_path().empty() ? "." : file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!directory.valid() || ::fsync(directory.get()) != 0) {
    throw_system_error("fsync", "syncing the directory of " + file.string());
  }
}

}  // namespace corral::tasks
