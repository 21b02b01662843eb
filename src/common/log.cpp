#include "corral/log.hpp"

#include <spdlog/spdlog.h>

namespace corral {

void log(LogLevel level, std::string_view message) {
  switch (level) {
    case LogLevel::debug: spdlog::debug("{}", message); return;
    case LogLevel::info: spdlog::info("{}", message); return;
    case LogLevel::warning: spdlog::warn("{}", message); return;
    case LogLevel::error: spdlog::error("{}", message); return;
  }
}

}  // namespace corral
