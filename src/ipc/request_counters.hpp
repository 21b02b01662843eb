#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace corral::ipc {

// Upper bounds of the request-duration histogram, in microseconds (Prometheus's
// default buckets from 0.5 ms to 10 s); a last, implicit bucket holds the rest.
inline constexpr std::array<std::uint64_t, 14> duration_bounds_us{
    500, 1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000,
    10'000'000};

// A worker's request counts, in the memory it shares with the supervisor: written by
// the worker alone, without locked instructions, and read by the supervisor at any time
// (a scrape never waits for a worker, nor a worker for a scrape).
struct RequestCounters {
  std::array<std::atomic<std::uint64_t>, 5> by_class{};  // 1xx .. 5xx
  // Not cumulative: [i] counts durations in (bound[i-1], bound[i]]; the last, above all.
  std::array<std::atomic<std::uint64_t>, duration_bounds_us.size() + 1> duration_buckets{};
  std::atomic<std::uint64_t> duration_sum_us{0};
  std::atomic<std::uint64_t> response_bytes{0};
  // The store, as this worker used it.
  std::atomic<std::uint64_t> store_operations{0};
  std::atomic<std::uint64_t> store_failures{0};
  std::atomic<std::uint64_t> store_sum_us{0};

  void record(int status, std::chrono::microseconds duration, std::uint64_t bytes);
  void reset();
  void record_store(bool ok, std::chrono::microseconds duration);
};

// A copy taken at one moment, to sum and render.
struct RequestTotals {
  std::array<std::uint64_t, 5> by_class{};
  std::array<std::uint64_t, duration_bounds_us.size() + 1> duration_buckets{};
  std::uint64_t duration_sum_us = 0;
  std::uint64_t response_bytes = 0;
  std::uint64_t store_operations = 0;
  std::uint64_t store_failures = 0;
  std::uint64_t store_sum_us = 0;
  // Requests known only from a worker's heartbeats (it had no board entry): counted in
  // the total, in no status class.
  std::uint64_t unclassified = 0;

  std::uint64_t requests() const;
  RequestTotals& operator+=(const RequestTotals& other);
};

RequestTotals read(const RequestCounters& counters);

}  // namespace corral::ipc
