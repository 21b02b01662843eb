#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "supervisor/cpu_count.hpp"

namespace corral {
namespace {

namespace fs = std::filesystem;

TEST(CpuCount, CountsTheAffinityMask) {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  EXPECT_EQ(count_cpus(mask), 0u);
  CPU_SET(0, &mask);
  CPU_SET(5, &mask);
  CPU_SET(63, &mask);
  EXPECT_EQ(count_cpus(mask), 3u);
}

TEST(CpuCount, ReadsCpuMax) {
  EXPECT_EQ(cpus_from_cpu_max("max 100000\n"), std::nullopt);
  EXPECT_EQ(cpus_from_cpu_max("100000 100000\n"), 1u);
  EXPECT_EQ(cpus_from_cpu_max("150000 100000\n"), 2u) << "a fraction of a CPU still gets a worker";
  EXPECT_EQ(cpus_from_cpu_max("400000 100000"), 4u);
  EXPECT_EQ(cpus_from_cpu_max("50000 100000"), 1u);
  EXPECT_EQ(cpus_from_cpu_max(""), std::nullopt);
  EXPECT_EQ(cpus_from_cpu_max("garbage"), std::nullopt);
  EXPECT_EQ(cpus_from_cpu_max("100 0"), std::nullopt);
}

class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("corral-cgroup-" + std::to_string(::getpid()));
    fs::create_directories(root_ / "system.slice" / "corral.service");
  }
  void TearDown() override { fs::remove_all(root_); }
  void write_cpu_max(const fs::path& group, const std::string& contents) {
    std::ofstream(root_ / group / "cpu.max") << contents;
  }
  fs::path root_;
};

TEST_F(CgroupTree, NoQuotaAnywhere) {
  write_cpu_max("system.slice/corral.service", "max 100000\n");
  EXPECT_EQ(cgroup_cpu_limit(root_, "/system.slice/corral.service"), std::nullopt);
}

TEST_F(CgroupTree, OwnQuota) {
  write_cpu_max("system.slice/corral.service", "200000 100000\n");
  EXPECT_EQ(cgroup_cpu_limit(root_, "/system.slice/corral.service"), 2u);
}

TEST_F(CgroupTree, TightestQuotaOnThePathToTheRootWins) {
  write_cpu_max("system.slice/corral.service", "300000 100000\n");
  write_cpu_max("system.slice", "100000 100000\n");
  EXPECT_EQ(cgroup_cpu_limit(root_, "/system.slice/corral.service"), 1u);
}

TEST(CpuCount, DefaultIsAtLeastOneAndAtMostTheAffinity) {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  ASSERT_EQ(sched_getaffinity(0, sizeof mask, &mask), 0);
  const auto workers = default_worker_count();
  EXPECT_GE(workers, 1u);
  EXPECT_LE(workers, count_cpus(mask));
}

}  // namespace
}  // namespace corral
