#include <gtest/gtest.h>

#include "http/host.hpp"

namespace corral::http {
namespace {

TEST(Host, ValidHostsAndPorts) {
  for (const auto* host : {"", "a", "a.example", "a.example:8080", "127.0.0.1", "127.0.0.1:0", "[::1]", "[::1]:3000",
                           "xn--bcher-kva.example", "a-b_c~d", "%41.example", "a:"}) {
    EXPECT_TRUE(valid_host(host)) << host;
  }
}

TEST(Host, InvalidHosts) {
  for (const auto* host : {"a, b", "a,b", "a b", "a/b", "u@a", "a:b", "a:123456", "[::1", "[::1]x", "[::1]:x", ":80",
                           "a\tb", "%4", "a?b", "a#b"}) {
    EXPECT_FALSE(valid_host(host)) << host;
  }
}

TEST(TransferCoding, ChunkedOnceAndLastIsTheOnlyFramingCorralReads) {
  EXPECT_EQ(transfer_coding_status("chunked"), 0);
  EXPECT_EQ(transfer_coding_status("Chunked"), 0);
  EXPECT_EQ(transfer_coding_status(" chunked ;ext=1"), 0);
  EXPECT_EQ(transfer_coding_status("xchunked"), 501);
  EXPECT_EQ(transfer_coding_status("gzip, chunked"), 501);
  EXPECT_EQ(transfer_coding_status("identity"), 501);
  EXPECT_EQ(transfer_coding_status("chunked, identity"), 400);
  EXPECT_EQ(transfer_coding_status("chunked, chunked"), 400);
  EXPECT_EQ(transfer_coding_status(""), 400);
  EXPECT_EQ(transfer_coding_status(" , ,"), 400) << "no coding at all";
  EXPECT_EQ(transfer_coding_status("chunked, , identity"), 400);
  EXPECT_EQ(transfer_coding_status(";x, chunked"), 400) << "a coding without a name is not an empty member";
  EXPECT_EQ(transfer_coding_status("chunked, ;x"), 400);
}

// RFC 9110 §5.6.1: a recipient accepts and skips empty list members.
TEST(TransferCoding, EmptyListMembersAreSkipped) {
  EXPECT_EQ(transfer_coding_status(", chunked"), 0);
  EXPECT_EQ(transfer_coding_status("chunked,"), 0);
  EXPECT_EQ(transfer_coding_status(" ,, chunked , "), 0);
  EXPECT_EQ(transfer_coding_status(", gzip, , chunked"), 501);
}

}  // namespace
}  // namespace corral::http
