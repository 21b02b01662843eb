#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace corral::detail {

using SessionFields = std::map<std::string, std::string, std::less<>>;

// A new session id: 256 bits from getrandom(), base64url without padding (43
// characters). Throws std::system_error if the kernel has no randomness to give.
std::string new_session_id();
// What a cookie must look like to be looked up at all: anything else (too long, other
// characters) is no session, without a store round trip.
bool valid_session_id(std::string_view id);

// The stored form of a session: a version, when its expiry was last pushed forward
// (wall-clock ms, shared by every machine), and length-prefixed fields.
struct SessionRecord {
  SessionFields fields;
  std::int64_t refreshed_at_ms = 0;
};
std::string encode_session(const SessionRecord& record);
// nullopt for anything that is not a record this code wrote.
std::optional<SessionRecord> decode_session(std::string_view text);

// Rolling expiry without a write per request: a session that is only read is written
// again once a tenth of its lifetime has passed since it last was.
bool needs_refresh(std::int64_t refreshed_at_ms, std::int64_t now_ms, std::chrono::milliseconds lifetime);

}  // namespace corral::detail
