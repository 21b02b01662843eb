#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corral::detail {

// Where the store is, from the `store` setting:
//   "sqlite"                       the SQLite file in the state directory (default)
//   "redis://[USER@]HOST[:PORT][/DB]"  Redis over TCP (port 6379, database 0)
//   "unix:///PATH[?db=DB]"         Redis on a unix socket
//   "redis-sentinel://[USER@]HOST[:PORT],HOST[:PORT],.../MASTER[?db=DB]"
//                                  the primary that Redis Sentinel names (sentinels
//                                  on port 26379 unless given)
struct StoreAddress {
  enum class Kind { sqlite, redis_tcp, redis_unix, redis_sentinel };
  Kind kind = Kind::sqlite;
  std::vector<std::pair<std::string, std::uint16_t>> sentinels;  // redis_sentinel
  std::string master_name;                                       // redis_sentinel
  std::string host;       // redis_tcp
  std::uint16_t port = 6379;
  std::string path;       // redis_unix
  unsigned database = 0;  // Redis's SELECT
  std::string user;       // Redis 6 ACL user; empty: the default user

  // "redis 127.0.0.1:6379/0", for logs and the status line.
  std::string describe() const;
};

// Throws std::invalid_argument saying what is accepted.
StoreAddress parse_store_address(std::string_view text);

}  // namespace corral::detail
