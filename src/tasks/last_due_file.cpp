#include "tasks/last_due_file.hpp"

#include <fcntl.h>
#include <cerrno>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/system_error.hpp"
#include "common/unique_fd.hpp"
#include "tasks/task_spec.hpp"

namespace corral::tasks {

LastDue load_last_due(const std::filesystem::path& file) {
  LastDue last_due;
  std::ifstream in(file);
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
  // Not synced: this is the supervisor's loop, once per run, and a power loss that
  // leaves an older file only costs a catch-up decision made on older facts.
  fd.reset();
  if (::rename(temporary.c_str(), file.c_str()) != 0) {
    throw_system_error("rename", "replacing " + file.string());
  }
}

}  // namespace corral::tasks
