#include "box_client_loop.hpp"

#include <regex>
#include <sstream>
#include <stdexcept>

namespace corral::test {

BoxClientLoop::BoxClientLoop(const Box& box, const std::string& url) : box_(box) {
  box_.install(source_path("tests/e2e/client_loop.sh"), "/usr/local/bin/corral-client-loop", "0755");
  box_.must("rm -f /tmp/client-loop.stop");
  process_ = std::make_unique<ChildProcess>(
      box_.command("/usr/local/bin/corral-client-loop " + url + " /tmp/client-loop.stop 300"));
  if (!process_->wait_for_line(std::regex("^200 0$"), 20s)) {
    throw std::runtime_error("the client loop got no answer:\n" + process_->output());
  }
}

BoxClientLoop::Tally BoxClientLoop::finish() {
  box_.must("touch /tmp/client-loop.stop");
  if (!process_->wait_for_line(std::regex("client loop done"), 60s)) {
    throw std::runtime_error("the client loop did not stop:\n" + process_->output());
  }
  Tally tally;
  std::istringstream lines(process_->output());
  const std::regex result(R"((\d{3}) (\d+))");
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (!std::regex_match(line, match, result)) continue;
    ++tally.answered;
    if (match[1] != "200") ++tally.failed;
    if (match[2] == "7") ++tally.refused;
  }
  return tally;
}

}  // namespace corral::test
