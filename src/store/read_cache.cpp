#include "store/read_cache.hpp"

namespace corral::detail {

const std::string* ReadCache::find(std::string_view key, std::int64_t now_ms) {
  const auto found = entries_.find(key);
  if (found == entries_.end()) return nullptr;
  // As the store's query: a key expires at its time, not after it.
  if (found->second.expires_at_ms && *found->second.expires_at_ms <= now_ms) {
    entries_.erase(found);
    return nullptr;
  }
  return &found->second.value;
}

void ReadCache::remember(std::string_view key, std::string_view value, std::optional<std::int64_t> expires_at_ms) {
  if (capacity_ == 0) return;
  if (const auto found = entries_.find(key); found != entries_.end()) {
    found->second = Entry{std::string(value), expires_at_ms};
    return;
  }
  if (entries_.size() >= capacity_) entries_.erase(entries_.begin());
  entries_.emplace(std::string(key), Entry{std::string(value), expires_at_ms});
}

void ReadCache::forget(std::string_view key) {
  if (const auto found = entries_.find(key); found != entries_.end()) entries_.erase(found);
}

}  // namespace corral::detail
