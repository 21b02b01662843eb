#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace corral {

// A configuration file that cannot be used. what() reads
// "FILE:LINE: KEY: problem", so an administrator can go straight to the line (line 0:
// none, as for a file that cannot be read or a rule across keys).
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& source, std::size_t line, const std::string& key, const std::string& problem);
};

}  // namespace corral
