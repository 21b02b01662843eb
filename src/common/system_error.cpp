#include "common/system_error.hpp"

#include <cerrno>
#include <string>
#include <system_error>

#include <fmt/format.h>

namespace corral {

void throw_system_error(std::string_view call, std::string_view attempt) {
  throw_system_error(errno, call, attempt);
}

void throw_system_error(int error, std::string_view call, std::string_view attempt) {
  throw std::system_error(error, std::generic_category(),
                          fmt::format("{}() failed while {}", call, attempt));
}

}  // namespace corral
