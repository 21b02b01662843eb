#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace corral::test {

class ChildProcess;
using namespace std::chrono_literals;

// A container with a real systemd, booted by tests/e2e/box.sh for the whole e2e test
// binary (the host's PID 1 is not systemd). Commands run inside with nsenter.
class Box {
 public:
  struct Result {
    int exit_code = -1;  // -1: did not finish in time
    std::string output;  // stdout and stderr
  };

  // Boots a box; throws (the test fails loudly) if it cannot boot.
  Box();
  // One box for a whole test binary.
  static Box& shared();
  ~Box();
  Box(const Box&) = delete;
  Box& operator=(const Box&) = delete;

  Result run(const std::string& shell_command, std::chrono::milliseconds timeout = 60s) const;
  // Like run(), but a non-zero exit is a test failure reported with the output.
  std::string must(const std::string& shell_command, std::chrono::milliseconds timeout = 60s) const;
  void install(const std::string& host_path, const std::string& box_path, const std::string& mode = "0644") const;
  // The command line that runs `shell_command` inside, for a ChildProcess of the test.
  std::vector<std::string> command(const std::string& shell_command) const;
  // Journal lines logged inside after this call, as they come (journalctl -f
  // `arguments`).
  std::unique_ptr<ChildProcess> follow_journal(const std::string& arguments = "-o cat") const;

 private:
  std::string script_;
  std::string directory_;
};

// A path of the source tree, from CORRAL_SOURCE_ROOT (set by meson).
std::string source_path(const std::string& relative);
// A path of the build tree, from CORRAL_BUILD_ROOT (set by meson).
std::string build_path(const std::string& relative);

}  // namespace corral::test
