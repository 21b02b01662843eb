#include "http/host.hpp"

#include <array>

#include "http/url.hpp"

namespace corral::http {
namespace {

constexpr bool is_alpha_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// unreserved and sub-delims, as a table: this runs on every request's Host.
constexpr auto reg_name_characters = [] {
  std::array<bool, 256> allowed{};
  for (int c = 0; c < 256; ++c) allowed[c] = is_alpha_digit(static_cast<char>(c));
  for (const char c : std::string_view("-._~!$&'()*+,;=")) allowed[static_cast<unsigned char>(c)] = true;
  return allowed;
}();

// reg-name = *( unreserved / pct-encoded / sub-delims ); IPv4 addresses fit too.
bool valid_reg_name(std::string_view name) {
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (reg_name_characters[static_cast<unsigned char>(c)]) continue;
    if (c == '%' && i + 2 < name.size() && is_hex(name[i + 1]) && is_hex(name[i + 2])) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

// IP-literal = "[" ( IPv6address / IPvFuture ) "]", checked for its characters.
bool valid_ip_literal(std::string_view literal) {
  if (literal.size() < 3 || literal.front() != '[' || literal.back() != ']') return false;
  for (const char c : literal.substr(1, literal.size() - 2)) {
    if (!(is_hex(c) || c == ':' || c == '.' || c == 'v' || c == 'V')) return false;
  }
  return true;
}

bool valid_port(std::string_view port) {
  if (port.size() > 5) return false;
  for (const char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

bool valid_host(std::string_view host) {
  if (host.empty()) return true;
  if (host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    const auto rest = host.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !valid_port(rest.substr(1)))) return false;
    return valid_ip_literal(host.substr(0, close + 1));
  }
  const auto colon = host.find(':');
  if (colon != std::string_view::npos && !valid_port(host.substr(colon + 1))) return false;
  const auto name = host.substr(0, colon);
  // "a, b" is a list: a reg-name may hold a comma, but not the space after it, and two
  // hosts are never one. A comma in a Host value is refused outright.
  return !name.empty() && name.find(',') == std::string_view::npos && valid_reg_name(name);
}

int transfer_coding_status(std::string_view codings) {
  bool chunked_seen = false;
  bool unknown_seen = false;
  while (true) {
    const auto comma = codings.find(',');
    const auto member = trim(codings.substr(0, comma));
    // A coding may carry parameters ("gzip;q=1"); only its name matters here. Only a
    // member of nothing but whitespace is empty; ";x" is a coding without a name.
    const auto coding = trim(member.substr(0, member.find(';')));
    if (coding.empty() && !member.empty()) return 400;
    if (!coding.empty()) {
      if (chunked_seen) return 400;  // something after chunked, or chunked twice
      if (iequals(coding, "chunked")) {
        chunked_seen = true;
      } else {
        unknown_seen = true;
      }
    }
    if (comma == std::string_view::npos) break;
    codings.remove_prefix(comma + 1);
  }
  if (unknown_seen) return 501;
  return chunked_seen ? 0 : 400;
}

}  // namespace corral::http
