#pragma once

#include <ctime>
#include <string>

namespace corral {

// The Date field's value (RFC 9110 §5.6.7), formatted once per second.
class HttpDate {
 public:
  const std::string& now();

 private:
  std::time_t second_ = 0;
  std::string text_;
};

}  // namespace corral
