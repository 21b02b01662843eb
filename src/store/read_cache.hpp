#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace corral::detail {

// A worker's copy of the values it read from the store, so that a key read again (a
// visitor's session, on each of their requests) costs a hash lookup instead of a query.
// It knows nothing of other writers: its backend clears it whenever the store may have
// changed under it, and forgets a key it writes itself (sqlite_backend.hpp and
// redis_backend.hpp say when). At most `max_entries` entries and `max_bytes` of keys
// and values; past either, arbitrary ones make room, and a value larger than a
// sixteenth of `max_bytes` is not kept.
class ReadCache {
 public:
  ReadCache(std::size_t max_entries, std::size_t max_bytes) : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The value remembered for `key`, unless it has expired by `now_ms` (then forgotten).
  const std::string* find(std::string_view key, std::int64_t now_ms);
  // `expires_at_ms`: when the stored key expires (ms since the Unix epoch), or never.
  void remember(std::string_view key, std::string_view value, std::optional<std::int64_t> expires_at_ms);
  void forget(std::string_view key);
  void clear() {
    entries_.clear();
    bytes_ = 0;
  }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string value;
    std::optional<std::int64_t> expires_at_ms;
  };
  // Looked up by string_view: no key is copied to find it.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  using Entries = std::unordered_map<std::string, Entry, Hash, std::equal_to<>>;
  void erase(Entries::iterator entry);

  Entries entries_;
  std::size_t max_entries_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;  // of the keys and values held
};

}  // namespace corral::detail
