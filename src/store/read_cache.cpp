#include "store/read_cache.hpp"

namespace corral::detail {

const std::string* ReadCache::find(std::string_view key, std::int64_t now_ms) {
  const auto found = entries_.find(key);
  if (found == entries_.end()) return nullptr;
  // As the store's query: a key expires at its time, not after it.
  if (found->second.expires_at_ms && *found->second.expires_at_ms <= now_ms) {
    erase(found);
    return nullptr;
  }
  return &found->second.value;
}

void ReadCache::remember(std::string_view key, std::string_view value, std::optional<std::int64_t> expires_at_ms) {
  forget(key);
  const auto size = key.size() + value.size();
  if (max_entries_ == 0 || size > max_bytes_ / 16) return;
  while (!entries_.empty() && (entries_.size() >= max_entries_ || bytes_ + size > max_bytes_)) {
    erase(entries_.begin());
  }
  entries_.emplace(std::string(key), Entry{std::string(value), expires_at_ms});
  bytes_ += size;
}

void ReadCache::forget(std::string_view key) {
  if (const auto found = entries_.find(key); found != entries_.end()) erase(found);
}

void ReadCache::erase(Entries::iterator entry) {
  bytes_ -= entry->first.size() + entry->second.value.size();
  entries_.erase(entry);
}

}  // namespace corral::detail
