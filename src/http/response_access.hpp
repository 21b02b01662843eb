#pragma once

#include <memory>

#include "corral/response.hpp"

namespace corral::detail {

// The worker's side of a Response: reuse between requests, and what the handler did.
struct ResponseAccess {
  // Back to an unset 200 text/plain response, keeping the buffers' capacity.
  static void reset(Response& response);
  // Gives back a body buffer that grew large, for an idle connection.
  static void release_large_body(Response& response, std::size_t limit) {
    if (response.body_.capacity() > limit) std::string().swap(response.body_);
  }
  // The handler set a status or a body.
  static bool produced(const Response& response) { return response.produced_; }
  // Called by the connection before the handler runs (defer() asks it), and with
  // nullptr after.
  static void set_deferrer(Response& response, Deferrer* deferrer) { response.deferrer_.value = deferrer; }
};

}  // namespace corral::detail
