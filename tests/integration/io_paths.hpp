#pragma once

// The two ways a worker moves its connections' bytes (the `io` setting): suites
// that run on both take an IoPath parameter.
#include <gtest/gtest.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace corral::test {

enum class IoPath { epoll, io_uring };

inline std::string io_path_name(const ::testing::TestParamInfo<IoPath>& info) {
  return info.param == IoPath::epoll ? "Epoll" : "IoUring";
}

inline std::string io_setting(IoPath path) { return path == IoPath::io_uring ? "io_uring" : "epoll"; }

inline std::vector<std::string> with_io(IoPath path, std::vector<std::string> flags) {
  flags.push_back("--io");
  flags.push_back(io_setting(path));
  return flags;
}

// The worker holds an io_uring: it serves through it rather than having fallen back to epoll.
inline bool holds_io_uring(pid_t pid) {
  std::error_code error;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    if (std::filesystem::read_symlink(fd.path(), error).string() == "anon_inode:[io_uring]") return true;
  }
  return false;
}

}  // namespace corral::test
