#include "worker/http_date.hpp"

namespace corral {

const std::string& HttpDate::now() {
  const std::time_t now = std::time(nullptr);
  if (now != second_) {
    second_ = now;
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char text[64];
    const auto length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    text_.assign(text, length);
  }
  return text_;
}

}  // namespace corral
