#include "http/url.hpp"

namespace corral::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool has_escapes(std::string_view text, bool plus_is_space) {
  return text.find(plus_is_space ? std::string_view("%+") : std::string_view("%")) != std::string_view::npos;
}

void percent_decode(std::string_view text, bool plus_is_space, std::string& out) {
  out.clear();
  percent_decode_append(text, plus_is_space, out);
}

void percent_decode_append(std::string_view text, bool plus_is_space, std::string& out) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  percent_decode(text, plus_is_space, out);
  return out;
}

TargetParts split_target(std::string_view target) {
  if (!target.starts_with('/')) {
    // Absolute-form: scheme "://" authority path-abempty [ "?" query ].
    const auto scheme_end = target.find("://");
    if (scheme_end != std::string_view::npos) {
      const auto authority = target.substr(scheme_end + 3);
      const auto path_start = authority.find_first_of("/?");
      if (path_start == std::string_view::npos) return {"/", {}};
      target = authority.substr(path_start);
      if (target.starts_with('?')) return {"/", target.substr(1)};
    }
  }
  const auto mark = target.find('?');
  if (mark == std::string_view::npos) return {target, {}};
  return {target.substr(0, mark), target.substr(mark + 1)};
}

std::optional<std::string> urlencoded_value(std::string_view text, std::string_view name) {
  std::optional<std::string> found;
  for_each_pair(text, [&](std::string_view key, std::string_view value) {
    const bool match = has_escapes(key, true) ? percent_decode(key, true) == name : key == name;
    if (match) found = percent_decode(value, true);
    return !match;
  });
  return found;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace corral::http
