#pragma once

#include <hiredis/hiredis.h>

#include <optional>
#include <string>

namespace corral::detail {

// What went wrong with a reply: the connection's error when there is none, Redis's
// error text for an error reply, nullopt for any other reply.
inline std::optional<std::string> reply_error(redisReply* reply, const std::string& error) {
  if (reply == nullptr) return error.empty() ? std::string("no reply") : error;
  if (reply->type == REDIS_REPLY_ERROR) return std::string(reply->str, reply->len);
  return std::nullopt;
}

}  // namespace corral::detail
