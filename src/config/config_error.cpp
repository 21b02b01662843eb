#include "config/config_error.hpp"

#include <fmt/format.h>

namespace corral {

ConfigError::ConfigError(const std::string& source, std::size_t line, const std::string& key, const std::string& problem)
    : std::runtime_error(fmt::format("{}{}: {}{}", source, line > 0 ? fmt::format(":{}", line) : "",
                                     key.empty() ? "" : key + ": ", problem)) {}

}  // namespace corral
