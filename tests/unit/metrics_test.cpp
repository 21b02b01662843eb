// The Prometheus text: names, types and the histogram's arithmetic, checked by promtool
// where the machine has it (Debian's prometheus package, a test dependency).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "metrics/pool_metrics.hpp"
#include "support/temp_dir.hpp"

namespace corral::metrics {
namespace {

PoolMetrics sample() {
  ipc::RequestCounters counters;
  counters.record(200, std::chrono::microseconds(300), 100);
  counters.record(200, std::chrono::microseconds(700), 100);
  counters.record(404, std::chrono::microseconds(20'000), 50);
  counters.record(503, std::chrono::seconds(30), 10);
  counters.record_store(true, std::chrono::microseconds(40));
  counters.record_store(false, std::chrono::microseconds(1'000'000));
  PoolMetrics metrics;
  metrics.service = "corral";
  metrics.version = "0.1.0";
  metrics.requests = ipc::read(counters);
  metrics.workers_by_state = {0, 2, 0, 1, 0};
  metrics.slots = {{0, 3, 8 << 20, 1.5}, {1, 0, 7 << 20, 0.25}};
  metrics.restarts[static_cast<std::size_t>(RestartCause::signal)] = 2;
  metrics.store_configured = true;
  metrics.store_up = true;
  metrics.supervisor = {0.5, 4 << 20, 64 << 20, 1'700'000'000, 12, 1024};
  return metrics;
}

TEST(RequestTotals, TheTotalIsEveryClassAndTheUnclassifiedCountAndSumsAddUp) {
  auto totals = sample().requests;
  EXPECT_EQ(totals.requests(), 4u);
  ipc::RequestTotals heartbeats_only;
  heartbeats_only.unclassified = 6;
  totals += heartbeats_only;
  totals += sample().requests;
  EXPECT_EQ(totals.requests(), 14u);
  EXPECT_EQ(totals.by_class[1], 4u);
  EXPECT_EQ(totals.unclassified, 6u);
  EXPECT_EQ(totals.response_bytes, 520u);
  EXPECT_EQ(totals.store_failures, 2u);
}

TEST(Metrics, CountsByClassAndACumulativeHistogram) {
  const auto text = render(sample());
  for (const char* line : {
           "corral_build_info{service=\"corral\",version=\"0.1.0\"} 1\n",
           "corral_http_requests_total{code=\"2xx\"} 2\n",
           "corral_http_requests_total{code=\"4xx\"} 1\n",
           "corral_http_requests_total{code=\"5xx\"} 1\n",
           "corral_http_request_duration_seconds_bucket{le=\"0.0005\"} 1\n",
           "corral_http_request_duration_seconds_bucket{le=\"0.001\"} 2\n",
           "corral_http_request_duration_seconds_bucket{le=\"0.025\"} 3\n",
           "corral_http_request_duration_seconds_bucket{le=\"10\"} 3\n",
           "corral_http_request_duration_seconds_bucket{le=\"+Inf\"} 4\n",
           "corral_http_request_duration_seconds_count 4\n",
           "corral_http_request_duration_seconds_sum 30.021\n",
           "corral_http_response_bytes_total 260\n",
           "corral_workers{state=\"ready\"} 2\n",
           "corral_workers{state=\"draining\"} 1\n",
           "corral_worker_restarts_total{cause=\"signal\"} 2\n",
           "corral_worker_restarts_total{cause=\"recycle\"} 0\n",
           "corral_worker_connections{slot=\"0\"} 3\n",
           "corral_worker_cpu_seconds_total{slot=\"1\"} 0.25\n",
           "corral_store_operations_total 2\n",
           "corral_store_errors_total 1\n",
           "corral_store_operation_duration_seconds_sum 1.00004\n",
           "process_open_fds 12\n",
           "# TYPE corral_http_requests_total counter\n",
           "# TYPE corral_http_request_duration_seconds histogram\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
}

TEST(Metrics, NoStoreNoStoreFamilies) {
  auto metrics = sample();
  metrics.store_configured = false;
  EXPECT_EQ(render(metrics).find("corral_store_"), std::string::npos);
}

TEST(Metrics, PassPromtoolsCheck) {
  if (std::system("command -v promtool >/dev/null") != 0) GTEST_SKIP() << "promtool (package prometheus) is missing";
  test::TempDir directory;
  std::ofstream(directory / "metrics.txt") << render(sample());
  const auto command = "promtool check metrics < " + (directory / "metrics.txt") + " > " +
                       (directory / "promtool.txt") + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream report(directory / "promtool.txt");
  const std::string output((std::istreambuf_iterator<char>(report)), std::istreambuf_iterator<char>());
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << output;  // no lint warnings either
}

}  // namespace
}  // namespace corral::metrics
