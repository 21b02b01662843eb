#include "ipc/request_counters.hpp"

#include <algorithm>

namespace corral::ipc {

void RequestCounters::record(int status, std::chrono::microseconds duration, std::uint64_t bytes) {
  const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0));
  const auto status_class = static_cast<std::size_t>(std::clamp(status / 100, 1, 5) - 1);
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(duration_bounds_us.begin(), duration_bounds_us.end(), us) - duration_bounds_us.begin());
  by_class[status_class].fetch_add(1, std::memory_order_relaxed);
  duration_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  duration_sum_us.fetch_add(us, std::memory_order_relaxed);
  response_bytes.fetch_add(bytes, std::memory_order_relaxed);
}

void RequestCounters::record_store(bool ok, std::chrono::microseconds duration) {
  store_operations.fetch_add(1, std::memory_order_relaxed);
  if (!ok) store_failures.fetch_add(1, std::memory_order_relaxed);
  store_sum_us.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0)),
                         std::memory_order_relaxed);
}

void RequestCounters::reset() {
  for (auto& count : by_class) count.store(0, std::memory_order_relaxed);
  for (auto& count : duration_buckets) count.store(0, std::memory_order_relaxed);
  for (auto* count : {&duration_sum_us, &response_bytes, &store_operations, &store_failures, &store_sum_us}) {
    count->store(0, std::memory_order_relaxed);
  }
}

std::uint64_t RequestTotals::requests() const {
  std::uint64_t total = 0;
  for (const auto count : by_class) total += count;
  return total;
}

RequestTotals& RequestTotals::operator+=(const RequestTotals& other) {
  for (std::size_t i = 0; i < by_class.size(); ++i) by_class[i] += other.by_class[i];
  for (std::size_t i = 0; i < duration_buckets.size(); ++i) duration_buckets[i] += other.duration_buckets[i];
  duration_sum_us += other.duration_sum_us;
  response_bytes += other.response_bytes;
  store_operations += other.store_operations;
  store_failures += other.store_failures;
  store_sum_us += other.store_sum_us;
  return *this;
}

RequestTotals read(const RequestCounters& counters) {
  RequestTotals totals;
  for (std::size_t i = 0; i < totals.by_class.size(); ++i) {
    totals.by_class[i] = counters.by_class[i].load(std::memory_order_relaxed);
  }
  for (std::size_t i = 0; i < totals.duration_buckets.size(); ++i) {
    totals.duration_buckets[i] = counters.duration_buckets[i].load(std::memory_order_relaxed);
  }
  totals.duration_sum_us = counters.duration_sum_us.load(std::memory_order_relaxed);
  totals.response_bytes = counters.response_bytes.load(std::memory_order_relaxed);
  totals.store_operations = counters.store_operations.load(std::memory_order_relaxed);
  totals.store_failures = counters.store_failures.load(std::memory_order_relaxed);
  totals.store_sum_us = counters.store_sum_us.load(std::memory_order_relaxed);
  return totals;
}

}  // namespace corral::ipc
