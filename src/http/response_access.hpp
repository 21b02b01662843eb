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
  // The response can still be deferred: it is a handler's (or a store continuation's)
  // and defer() was not called yet.
  static bool deferrable(const Response& response) { return response.deferrer_.value != nullptr; }
  static Deferrer* deferrer(const Response& response) { return response.deferrer_.value; }
  // Replaces what the response holds; whether it can be deferred stays as it was.
  static void replace_keeping_deferrer(Response& response, Response&& with) {
    auto* deferrer = response.deferrer_.value;
    response = std::move(with);
    response.deferrer_.value = deferrer;
  }
  // The answer a Responder sends to.
  static const std::shared_ptr<PendingAnswer>& target(const Responder& responder) { return responder.target_; }
};

}  // namespace corral::detail
