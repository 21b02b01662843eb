#include "box.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <stdexcept>
#include <vector>

#include "support/child_process.hpp"

namespace corral::test {
namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) throw std::runtime_error(std::string(name) + " is not set (meson test sets it)");
  return value;
}

Box::Result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  ChildProcess process(argv);
  const auto status = process.wait_exit(timeout);
  Box::Result result;
  result.output = process.output();
  if (status && WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  return result;
}

}  // namespace

std::string source_path(const std::string& relative) {
  return environment("CORRAL_SOURCE_ROOT") + "/" + relative;
}

std::string build_path(const std::string& relative) {
  return environment("CORRAL_BUILD_ROOT") + "/" + relative;
}

Box& Box::shared() {
  static Box box;
  return box;
}

Box::Box() : script_(source_path("tests/e2e/box.sh")) {
  char directory[] = "/tmp/corral-e2e-XXXXXX";
  if (::mkdtemp(directory) == nullptr) throw std::runtime_error("mkdtemp() failed");
  directory_ = directory;
  const auto up = run_command({script_, "up", directory_}, 120s);
  if (up.exit_code != 0) {
    run_command({script_, "down", directory_}, 60s);
    throw std::runtime_error("the e2e box did not boot:\n" + up.output);
  }
}

Box::~Box() {
  run_command({script_, "down", directory_}, 60s);
}

std::vector<std::string> Box::command(const std::string& shell_command) const {
  return {script_, "exec", directory_, "/bin/sh", "-c", shell_command};
}

Box::Result Box::run(const std::string& shell_command, std::chrono::milliseconds timeout) const {
  return run_command(command(shell_command), timeout);
}

std::string Box::must(const std::string& shell_command, std::chrono::milliseconds timeout) const {
  const auto result = run(shell_command, timeout);
  if (result.exit_code != 0) {
    throw std::runtime_error("in the box, '" + shell_command + "' exited with " + std::to_string(result.exit_code) +
                             ":\n" + result.output);
  }
  return result.output;
}

void Box::install(const std::string& host_path, const std::string& box_path, const std::string& mode) const {
  const auto result = run_command({script_, "install-file", directory_, host_path, box_path, mode}, 60s);
  if (result.exit_code != 0) {
    throw std::runtime_error("installing " + host_path + " as " + box_path + " failed:\n" + result.output);
  }
}

std::unique_ptr<ChildProcess> Box::follow_journal(const std::string& arguments) const {
  const auto tail = must("journalctl -n 1 --show-cursor -q --no-pager -o cat");
  std::smatch match;
  if (!std::regex_search(tail, match, std::regex("-- cursor: (\\S+)"))) {
    throw std::runtime_error("no journal cursor in: " + tail);
  }
  return std::make_unique<ChildProcess>(
      command("journalctl --no-pager -f " + arguments + " --after-cursor='" + match[1].str() + "'"));
}

}  // namespace corral::test
