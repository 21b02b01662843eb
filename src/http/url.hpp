#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace corral::http {

// Percent-decoding (RFC 3986 §2.1). In a query or a form, '+' is a space too
// (application/x-www-form-urlencoded). A '%' not followed by two hex digits is kept
// as it is, as browsers and most servers do.
void percent_decode(std::string_view text, bool plus_is_space, std::string& out);
// The same, appended to `out`.
void percent_decode_append(std::string_view text, bool plus_is_space, std::string& out);
std::string percent_decode(std::string_view text, bool plus_is_space);
bool has_escapes(std::string_view text, bool plus_is_space);

// The path and query of a request target: origin-form ("/a/b?x") or absolute-form
// ("http://host/a/b?x", RFC 9112 §3.2.2, whose path is "/" when the URL has none).
struct TargetParts {
  std::string_view path;
  std::string_view query;
};
TargetParts split_target(std::string_view target);

// Calls `visit(name, value)` for each "name=value" pair of an urlencoded string
// ("a=1&b=2"), undecoded, until it returns false.
template <class Visit>
void for_each_pair(std::string_view text, Visit visit) {
  while (!text.empty()) {
    const auto amp = text.find('&');
    const auto pair = text.substr(0, amp);
    if (!pair.empty()) {
      const auto equals = pair.find('=');
      const auto name = pair.substr(0, equals);
      const auto value = equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1);
      if (!visit(name, value)) return;
    }
    if (amp == std::string_view::npos) return;
    text.remove_prefix(amp + 1);
  }
}

// The decoded value of the first pair called `name` (names are decoded before the
// comparison); nullopt if none.
std::optional<std::string> urlencoded_value(std::string_view text, std::string_view name);

// ASCII case-insensitive equality, for field names.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace corral::http
