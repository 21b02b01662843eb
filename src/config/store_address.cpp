#include "config/store_address.hpp"

#include <cctype>
#include <charconv>
#include <tuple>
#include <stdexcept>

#include <fmt/format.h>

namespace corral::detail {
namespace {

constexpr const char* accepted =
    "use \"sqlite\", \"redis://[USER@]HOST[:PORT][/DB]\", \"unix:///PATH[?db=DB]\" or "
    "\"redis-sentinel://HOST[:PORT],HOST[:PORT],.../MASTER[?db=DB]\"";

template <class Number>
Number parse_number(std::string_view text, Number max, std::string_view whole, const char* what) {
  unsigned long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size() || value > max) {
    throw std::invalid_argument(fmt::format("store \"{}\": {} \"{}\" is not a number up to {}; {}", whole, what, text,
                                            static_cast<unsigned long long>(max), accepted));
  }
  return static_cast<Number>(value);
}

}  // namespace

std::string StoreAddress::describe() const {
  switch (kind) {
    case Kind::sqlite:
      return "sqlite";
    case Kind::redis_tcp:
      return fmt::format("redis {}:{}/{}", host.find(':') != std::string::npos ? "[" + host + "]" : host, port,
                         database);
    case Kind::redis_unix:
      return fmt::format("redis {}/{}", path, database);
    case Kind::redis_sentinel:
      return fmt::format("redis-sentinel {}/{} ({} sentinels)", master_name, database, sentinels.size());
  }
  return "unknown";
}

namespace {

// "HOST[:PORT]" or "[V6]:PORT": the host and the port (`default_port` if none).
std::pair<std::string, std::uint16_t> parse_host_port(std::string_view rest, std::uint16_t default_port,
                                                      std::string_view whole) {
  std::string_view host = rest;
  std::uint16_t port = default_port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument(fmt::format("store \"{}\": {}", whole, accepted));
    host = rest.substr(1, close - 1);
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) throw std::invalid_argument(fmt::format("store \"{}\": {}", whole, accepted));
      port = parse_number<std::uint16_t>(after.substr(1), 65535, whole, "the port");
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = parse_number<std::uint16_t>(rest.substr(colon + 1), 65535, whole, "the port");
  }
  if (host.empty() || port == 0) {
    throw std::invalid_argument(fmt::format("store \"{}\": a host and a port from 1 are needed; {}", whole, accepted));
  }
  return {std::string(host), port};
}

// Takes "?db=N" off the end of `rest`: N, or 0 without it.
unsigned parse_database_parameter(std::string_view& rest, std::string_view whole) {
  const auto query = rest.find('?');
  if (query == std::string_view::npos) return 0;
  const auto parameter = rest.substr(query + 1);
  if (!parameter.starts_with("db=")) {
    throw std::invalid_argument(fmt::format("store \"{}\": the only parameter is db=N; {}", whole, accepted));
  }
  rest = rest.substr(0, query);
  return parse_number<unsigned>(parameter.substr(3), 1000000, whole, "the database");
}

std::string parse_user(std::string_view& rest) {
  const auto at = rest.find('@');
  if (at == std::string_view::npos) return {};
  auto user = std::string(rest.substr(0, at));
  if (user.find(':') != std::string::npos) {
    throw std::invalid_argument(
        "store: a password does not belong in the address (the configuration is world-readable); use "
        "--store-password-file or the store-password credential (docs/operations.md)");
  }
  rest = rest.substr(at + 1);
  return user;
}

StoreAddress parse_sentinel_address(std::string_view text, std::string_view rest) {
  StoreAddress address;
  address.kind = StoreAddress::Kind::redis_sentinel;
  address.user = parse_user(rest);
  address.database = parse_database_parameter(rest, text);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size()) {
    throw std::invalid_argument(
        fmt::format("store \"{}\": the primary's name, as the sentinels know it, follows the sentinels: "
                    "redis-sentinel://HOST:26379,HOST:26379,HOST:26379/mymaster",
                    text));
  }
  address.master_name = std::string(rest.substr(slash + 1));
  for (const char c : address.master_name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      throw std::invalid_argument(
          fmt::format("store \"{}\": the primary's name \"{}\" has a character other than letters, digits, '-', "
                      "'_' and '.'",
                      text, address.master_name));
    }
  }
  auto hosts = rest.substr(0, slash);
  while (!hosts.empty()) {
    const auto comma = hosts.find(',');
    address.sentinels.push_back(parse_host_port(hosts.substr(0, comma), 26379, text));
    hosts = comma == std::string_view::npos ? std::string_view{} : hosts.substr(comma + 1);
  }
  if (address.sentinels.empty()) {
    throw std::invalid_argument(fmt::format("store \"{}\": name at least one sentinel; {}", text, accepted));
  }
  return address;
}

}  // namespace

StoreAddress parse_store_address(std::string_view text) {
  StoreAddress address;
  if (text == "sqlite") return address;
  constexpr std::string_view sentinel_scheme = "redis-sentinel://";
  if (text.starts_with(sentinel_scheme)) return parse_sentinel_address(text, text.substr(sentinel_scheme.size()));
  constexpr std::string_view redis_scheme = "redis://";
  constexpr std::string_view unix_scheme = "unix://";
  if (text.starts_with(unix_scheme)) {
    address.kind = StoreAddress::Kind::redis_unix;
    auto rest = text.substr(unix_scheme.size());
    address.database = parse_database_parameter(rest, text);
    if (!rest.starts_with('/') || rest.size() < 2) {
      throw std::invalid_argument(fmt::format("store \"{}\": the socket path must be absolute; {}", text, accepted));
    }
    address.path = std::string(rest);
    return address;
  }
  if (!text.starts_with(redis_scheme)) throw std::invalid_argument(fmt::format("store \"{}\": {}", text, accepted));
  address.kind = StoreAddress::Kind::redis_tcp;
  auto rest = text.substr(redis_scheme.size());
  address.user = parse_user(rest);
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (slash + 1 < rest.size()) address.database = parse_number<unsigned>(rest.substr(slash + 1), 1000000, text, "the database");
    rest = rest.substr(0, slash);
  }
  std::tie(address.host, address.port) = parse_host_port(rest, 6379, text);
  return address;
}

}  // namespace corral::detail
