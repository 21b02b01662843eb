#include "config/config_error.hpp"

#include <fmt/format.h>

namespace corral {

ConfigError::ConfigError(const std::string& source, std::size_t line, const std::string& key, const std::string& problem)
    : std::runtime_error(key.empty() ? fmt::format("{}:{}: {}", source, line, problem)
                                     : fmt::format("{}:{}: {}: {}", source, line, key, problem)) {}

}  // namespace corral
