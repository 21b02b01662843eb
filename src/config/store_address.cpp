#include "config/store_address.hpp"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

namespace corral::detail {
namespace {

constexpr const char* accepted = "use \"sqlite\", \"redis://[USER@]HOST[:PORT][/DB]\" or \"unix:///PATH[?db=DB]\"";

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
  }
  return "unknown";
}

StoreAddress parse_store_address(std::string_view text) {
  StoreAddress address;
  if (text == "sqlite") return address;
  constexpr std::string_view redis_scheme = "redis://";
  constexpr std::string_view unix_scheme = "unix://";
  if (text.starts_with(unix_scheme)) {
    address.kind = StoreAddress::Kind::redis_unix;
    auto rest = text.substr(unix_scheme.size());
    if (const auto query = rest.find('?'); query != std::string_view::npos) {
      const auto parameter = rest.substr(query + 1);
      if (!parameter.starts_with("db=")) {
        throw std::invalid_argument(fmt::format("store \"{}\": the only parameter is db=N; {}", text, accepted));
      }
      address.database = parse_number<unsigned>(parameter.substr(3), 1000000, text, "the database");
      rest = rest.substr(0, query);
    }
    if (!rest.starts_with('/') || rest.size() < 2) {
      throw std::invalid_argument(fmt::format("store \"{}\": the socket path must be absolute; {}", text, accepted));
    }
    address.path = std::string(rest);
    return address;
  }
  if (!text.starts_with(redis_scheme)) throw std::invalid_argument(fmt::format("store \"{}\": {}", text, accepted));
  address.kind = StoreAddress::Kind::redis_tcp;
  auto rest = text.substr(redis_scheme.size());
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    address.user = std::string(rest.substr(0, at));
    if (address.user.find(':') != std::string::npos) {
      throw std::invalid_argument(fmt::format(
          "store: a password does not belong in the address (the configuration is world-readable); use "
          "--store-password-file or the store-password credential (docs/operations.md)"));
    }
    rest = rest.substr(at + 1);
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (slash + 1 < rest.size()) address.database = parse_number<unsigned>(rest.substr(slash + 1), 1000000, text, "the database");
    rest = rest.substr(0, slash);
  }
  std::string_view host = rest;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument(fmt::format("store \"{}\": {}", text, accepted));
    host = rest.substr(1, close - 1);
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) throw std::invalid_argument(fmt::format("store \"{}\": {}", text, accepted));
      address.port = parse_number<std::uint16_t>(after.substr(1), 65535, text, "the port");
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    address.port = parse_number<std::uint16_t>(rest.substr(colon + 1), 65535, text, "the port");
  }
  if (host.empty() || address.port == 0) {
    throw std::invalid_argument(fmt::format("store \"{}\": a host and a port from 1 are needed; {}", text, accepted));
  }
  address.host = std::string(host);
  return address;
}

}  // namespace corral::detail
