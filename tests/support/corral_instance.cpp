#include "support/corral_instance.hpp"

#include <stdexcept>

namespace corral::test {

std::unique_ptr<CorralInstance> CorralInstance::start(const std::vector<std::string>& flags, unsigned workers) {
  return start_binary(corral_binary(), flags, workers);
}

std::unique_ptr<CorralInstance> CorralInstance::start_binary(const std::string& binary,
                                                             const std::vector<std::string>& flags, unsigned workers) {
  auto instance = std::make_unique<CorralInstance>();
  std::vector<std::string> argv{binary, "--listen", "127.0.0.1:0"};
  if (workers > 0) argv.insert(argv.end(), {"--workers", std::to_string(workers)});
  argv.insert(argv.end(), flags.begin(), flags.end());
  instance->process = std::make_unique<ChildProcess>(argv, std::vector<std::string>{instance->notify.environment()});
  const auto started = instance->process->wait_for_line(std::regex(R"(supervisor started: \d+ workers on 127\.0\.0\.1:(\d+))"), 10s);
  if (!started) throw std::runtime_error("corral did not start:\n" + instance->process->output());
  instance->port = static_cast<std::uint16_t>(std::stoi(started->at(1)));
  if (!instance->notify.wait_for("READY=1", 10s)) {
    throw std::runtime_error("corral never sent READY=1:\n" + instance->process->output());
  }
  // The log is read by another thread: wait until it has caught up with READY=1, so that
  // marks taken from now on come after the start-up lines.
  if (!instance->process->wait_for_line(std::regex("all \\d+ workers ready"), 10s)) {
    throw std::runtime_error("corral never logged that its workers are ready:\n" + instance->process->output());
  }
  return instance;
}

pid_t CorralInstance::wait_worker_ready(std::size_t from, milliseconds timeout) {
  const auto line = process->wait_for_line(std::regex(R"(worker \d+ ready: pid (\d+))"), timeout, from);
  if (!line) throw std::runtime_error("no worker became ready:\n" + process->output());
  return std::stoi(line->at(1));
}

std::string CorralInstance::wait_worker_exited(pid_t pid, std::size_t from, milliseconds timeout) {
  const auto line = process->wait_for_line(
      std::regex("worker \\d+ \\(pid " + std::to_string(pid) + "[,)].*(exited|was killed).*"), timeout, from);
  if (!line) throw std::runtime_error("worker " + std::to_string(pid) + " did not exit:\n" + process->output());
  return line->at(0);
}

}  // namespace corral::test
