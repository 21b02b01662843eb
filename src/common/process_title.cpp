#include "common/process_title.hpp"

#include <algorithm>
#include <cstring>

extern char** environ;

namespace corral::process_title {
namespace {

char* area_begin = nullptr;
char* area_end = nullptr;

}  // namespace

void init(int argc, char** argv) {
  // Once per process: the environment has moved to the heap already.
  if (area_begin != nullptr || argc < 1 || argv[0] == nullptr) return;
  area_begin = argv[0];
  area_end = argv[0] + std::strlen(argv[0]) + 1;
  for (int i = 1; i < argc; ++i) {
    if (argv[i] != area_end) break;  // not contiguous: stop where the area ends
    area_end = argv[i] + std::strlen(argv[i]) + 1;
  }
  // The environment strings usually follow argv: move them to the heap and take their
  // room too, so that a short command line still fits a long title.
  std::size_t count = 0;
  while (environ[count] != nullptr) ++count;
  char** copy = new char*[count + 1];
  for (std::size_t i = 0; i < count; ++i) {
    if (environ[i] == area_end) area_end = environ[i] + std::strlen(environ[i]) + 1;
    copy[i] = strdup(environ[i]);
  }
  copy[count] = nullptr;
  environ = copy;
  // argv[1..] must stay readable for the argument parser, which runs later.
  for (int i = 1; i < argc; ++i) argv[i] = strdup(argv[i]);
}

void set(std::string_view title) {
  if (area_begin == nullptr) return;
  const auto room = static_cast<std::size_t>(area_end - area_begin) - 1;
  const auto length = std::min(room, title.size());
  std::memcpy(area_begin, title.data(), length);
  std::memset(area_begin + length, '\0', static_cast<std::size_t>(area_end - area_begin) - length);
}

}  // namespace corral::process_title
