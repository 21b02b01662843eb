#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "corral/response.hpp"
#include "store/outcome.hpp"
#include "store/worker_store.hpp"

namespace corral::detail {

// Writes the answer for a store operation that failed: 503 with Retry-After when the
// store is unavailable, 500 (and a log line) when the operation was wrong.
void answer_failure(Response& response, const StoreFailure& failure);

// Runs `fill` to make the answer of a request whose handler has returned, then sends it
// through `responder`, unless `fill` deferred it again (another store call). A
// ClientError becomes its 4xx; any other exception answers 500 and is reported on
// `loop` like a handler's, so the worker is replaced.
void answer_later(Loop& loop, const Responder& responder, const std::function<void(Response&)>& fill);

// True while `response` can still be deferred: a handler's, or a continuation's.
bool deferrable(const Response& response);
// Marks `response` as continued: it can no longer be deferred or continued.
void consume(Response& response);
// A store call may continue a response once: from its handler, or from the function of
// the call before (the same on SQLite and on Redis). Throws std::logic_error naming
// `call` otherwise.
void check_continuable(const char* call, const Response& response);

// A store operation that continues `response`: `issue` starts it with a callback;
// on success `then(value, response)` makes the answer, on failure answer_failure does.
// When the backend answers this access inline, all of it happens before this returns,
// on `response` itself.
template <class T, class Issue, class Then>
void continue_response(WorkerStore& store, Response& response, Access access, Issue issue, Then then) {
  const auto started = std::chrono::steady_clock::now();
  if (store.backend().answers_inline(access)) {
    std::optional<Outcome<T>> result;
    issue([&result](Outcome<T> outcome) { result.emplace(std::move(outcome)); });
    store.observe(result->ok(), started);
    if (result->ok()) {
      then(std::move(result->value()), response);
    } else {
      answer_failure(response, result->failure());
    }
    // Continued once, as on Redis: a second call on this response is refused the same.
    consume(response);
    return;
  }
  auto responder = response.defer();
  issue([&store, started, responder, then = std::move(then)](Outcome<T> outcome) mutable {
    store.observe(outcome.ok(), started);
    answer_later(store.loop(), responder, [&](Response& answer) {
      if (outcome.ok()) {
        then(std::move(outcome.value()), answer);
      } else {
        answer_failure(answer, outcome.failure());
      }
    });
  });
}

}  // namespace corral::detail
