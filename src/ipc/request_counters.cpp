#include "ipc/request_counters.hpp"

#include <algorithm>

namespace corral::ipc {
namespace {

// Each counter has one writer, its worker: a plain load and store are enough (no
// locked read-modify-write on the request path), and the supervisor's relaxed loads
// see whole values.
void add(std::atomic<std::uint64_t>& counter, std::uint64_t amount) {
  counter.store(counter.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
}

}  // namespace

void RequestCounters::record(int status, std::chrono::microseconds duration, std::uint64_t bytes) {
  const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0));
  const auto status_class = static_cast<std::size_t>(std::clamp(status / 100, 1, 5) - 1);
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(duration_bounds_us.begin(), duration_bounds_us.end(), us) - duration_bounds_us.begin());
  add(by_class[status_class], 1);
  add(duration_buckets[bucket], 1);
  add(duration_sum_us, us);
  add(response_bytes, bytes);
}

void RequestCounters::record_store(bool ok, std::chrono::microseconds duration) {
  add(store_operations, 1);
  if (!ok) add(store_failures, 1);
  add(store_sum_us, static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0)));
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
  return total + unclassified;
}

RequestTotals& RequestTotals::operator+=(const RequestTotals& other) {
  for (std::size_t i = 0; i < by_class.size(); ++i) by_class[i] += other.by_class[i];
  for (std::size_t i = 0; i < duration_buckets.size(); ++i) duration_buckets[i] += other.duration_buckets[i];
  duration_sum_us += other.duration_sum_us;
  response_bytes += other.response_bytes;
  store_operations += other.store_operations;
  store_failures += other.store_failures;
  store_sum_us += other.store_sum_us;
  unclassified += other.unclassified;
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
