#pragma once

#include <memory>
#include <string>

#include "box.hpp"
#include "support/child_process.hpp"

namespace corral::test {

// Load inside a box while a test acts on the service: client_loop.sh requests
// a URL (http://127.0.0.1:3000/ by default) on a new connection each, one after the other.
class BoxClientLoop {
 public:
  struct Tally {
    int answered = 0;  // requests made
    int failed = 0;    // anything but a 200
    int refused = 0;   // connection refused (curl exit 7)
  };

  // Installs the script, starts it on `url`, and returns once it has had a 200.
  explicit BoxClientLoop(const Box& box, const std::string& url = "http://127.0.0.1:3000/");
  // Stops the loop and counts what it saw.
  Tally finish();
  std::string output() const { return process_->output(); }

 private:
  const Box& box_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace corral::test
