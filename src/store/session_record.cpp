#include "store/session_record.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <charconv>

#include "common/system_error.hpp"

namespace corral::detail {
namespace {

constexpr std::string_view base64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t id_bytes = 32;
constexpr std::size_t id_length = (id_bytes * 8 + 5) / 6;  // 43
constexpr std::string_view record_version = "s1 ";

bool parse_number(std::string_view& text, char end, std::int64_t& value) {
  const auto [stop, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || stop == text.data() + text.size() || *stop != end || value < 0) return false;
  text.remove_prefix(static_cast<std::size_t>(stop - text.data()) + 1);
  return true;
}

}  // namespace

std::string new_session_id() {
  std::array<unsigned char, id_bytes> bytes{};
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    const auto got = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_system_error("getrandom", "making a session id");
    }
    filled += static_cast<std::size_t>(got);
  }
  std::string id;
  id.reserve(id_length);
  std::uint32_t bits = 0;
  int pending = 0;
  for (const unsigned char byte : bytes) {
    bits = (bits << 8) | byte;
    pending += 8;
    while (pending >= 6) {
      pending -= 6;
      id.push_back(base64url[(bits >> pending) & 0x3f]);
    }
  }
  if (pending > 0) id.push_back(base64url[(bits << (6 - pending)) & 0x3f]);
  return id;
}

bool valid_session_id(std::string_view id) {
  if (id.size() != id_length) return false;
  // Ranges, not a search of the alphabet per character: this runs on every request
  // that carries a cookie (a find() per character showed in profiles of GET /me).
  for (const char c : id) {
    const bool in_alphabet =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!in_alphabet) return false;
  }
  return true;
}

std::string encode_session(const SessionRecord& record) {
  std::string text(record_version);
  text += std::to_string(record.refreshed_at_ms);
  text.push_back('\n');
  for (const auto& [key, value] : record.fields) {
    text += std::to_string(key.size());
    text.push_back(' ');
    text += std::to_string(value.size());
    text.push_back('\n');
    text += key;
    text += value;
  }
  return text;
}

std::optional<SessionRecord> decode_session(std::string_view text) {
  if (!text.starts_with(record_version)) return std::nullopt;
  text.remove_prefix(record_version.size());
  SessionRecord record;
  if (!parse_number(text, '\n', record.refreshed_at_ms)) return std::nullopt;
  while (!text.empty()) {
    std::int64_t key_size = 0;
    std::int64_t value_size = 0;
    if (!parse_number(text, ' ', key_size) || !parse_number(text, '\n', value_size)) return std::nullopt;
    const auto key_length = static_cast<std::size_t>(key_size);
    const auto value_length = static_cast<std::size_t>(value_size);
    if (key_length > text.size() || value_length > text.size() - key_length) return std::nullopt;
    record.fields.insert_or_assign(std::string(text.substr(0, key_length)),
                                   std::string(text.substr(key_length, value_length)));
    text.remove_prefix(key_length + value_length);
  }
  return record;
}

bool needs_refresh(std::int64_t refreshed_at_ms, std::int64_t now_ms, std::chrono::milliseconds lifetime) {
  return now_ms - refreshed_at_ms >= lifetime.count() / 10;
}

}  // namespace corral::detail
