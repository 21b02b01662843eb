#include "config/settings.hpp"

#include <array>
#include <utility>

namespace corral {
namespace {

constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 6> levels{{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warning", spdlog::level::warn},
    {"error", spdlog::level::err},
    {"critical", spdlog::level::critical},
}};

}  // namespace

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  for (const auto& [level_name, level] : levels) {
    if (level_name == name) return level;
  }
  return std::nullopt;
}

std::string log_level_name(spdlog::level::level_enum level) {
  for (const auto& [level_name, value] : levels) {
    if (value == level) return std::string(level_name);
  }
  return "info";
}

}  // namespace corral
