// The public Store and Request::store(), on the worker's StoreBackend (sessions are in
// session.cpp).
#include "corral/store.hpp"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "corral/request.hpp"
#include "corral/response.hpp"
#include "http/response_access.hpp"
#include "store/continuation.hpp"
#include "store/worker_store.hpp"

namespace corral {
namespace detail {

namespace {

constexpr std::size_t max_key_bytes = 512;
constexpr std::size_t max_value_bytes = 1024 * 1024;

void check_key(const char* call, std::string_view key) {
  if (key.size() > max_key_bytes) {
    throw std::invalid_argument(fmt::format("corral::Store::{}: the key has {} bytes; at most {}", call, key.size(),
                                            max_key_bytes));
  }
}

void check_value(const char* call, std::string_view value) {
  if (value.size() > max_value_bytes) {
    throw std::invalid_argument(fmt::format("corral::Store::{}: the value has {} bytes; at most {}", call,
                                            value.size(), max_value_bytes));
  }
}

// Makes the continuation's Response answer the request that was deferred first.
class ChainedDeferrer final : public Deferrer {
 public:
  explicit ChainedDeferrer(std::shared_ptr<PendingAnswer> target) : target_(std::move(target)) {}
  std::shared_ptr<PendingAnswer> defer() override {
    deferred_ = true;
    return target_;
  }
  bool deferred() const { return deferred_; }

 private:
  std::shared_ptr<PendingAnswer> target_;
  bool deferred_ = false;
};

}  // namespace

void answer_failure(Response& response, const StoreFailure& failure) {
  Response answer;
  if (failure.kind == StoreFailure::Kind::misuse) {
    spdlog::error("{}", failure.message);
    answer.text(500, "internal server error\n");
  } else {
    answer.text(503, "the service's store is unavailable; try again shortly\n");
    answer.header("Retry-After", std::to_string(std::max<std::int64_t>(1, failure.retry_after.count())));
  }
  ResponseAccess::replace_keeping_deferrer(response, std::move(answer));
}

bool deferrable(const Response& response) {
  return ResponseAccess::deferrable(response);
}

void consume(Response& response) {
  ResponseAccess::set_deferrer(response, nullptr);
}

void answer_later(Loop& loop, const Responder& responder, const std::function<void(Response&)>& fill) {
  auto target = ResponseAccess::target(responder);
  if (!responder.pending()) return;  // the client has gone; nothing to make
  Response answer;
  ChainedDeferrer chain(target);
  ResponseAccess::set_deferrer(answer, &chain);
  try {
    fill(answer);
  } catch (const ClientError& error) {
    answer = Response();
    answer.text(error.status(), error.what());
  } catch (...) {
    ResponseAccess::set_deferrer(answer, nullptr);
    if (!chain.deferred()) {
      Response failure;
      failure.text(500, "internal server error\n");
      responder.send(std::move(failure));
    }
    // Reported the way a handler's exception is: the worker is replaced.
    loop.after(std::chrono::milliseconds(0), [error = std::current_exception()] { std::rethrow_exception(error); });
    return;
  }
  ResponseAccess::set_deferrer(answer, nullptr);
  if (!chain.deferred()) responder.send(std::move(answer));
}

void check_continuable(const char* call, const Response& response) {
  if (!deferrable(response)) {
    throw std::logic_error(fmt::format(
        "corral::{}: this response was already continued or deferred; make the next store call from the "
        "previous call's function, with the Response it was given",
        call));
  }
}

}  // namespace detail

void Store::get(std::string_view key, Response& response, ThenValue then) {
  detail::check_key("get", key);
  detail::check_continuable("Store::get", response);
  auto& store = *owner_;
  detail::continue_response<std::optional<std::string>>(
      store, response, detail::Access::read,
      [&](auto done) { store.backend().get(detail::KeySpace::data, key, std::move(done)); },
      std::move(then));
}

void Store::set(std::string_view key, std::string_view value, Response& response, Then then) {
  detail::check_key("set", key);
  detail::check_value("set", value);
  detail::check_continuable("Store::set", response);
  auto& store = *owner_;
  detail::continue_response<detail::Done>(
      store, response, detail::Access::write,
      [&](auto done) { store.backend().set(detail::KeySpace::data, key, value, std::nullopt, std::move(done)); },
      [then = std::move(then)](detail::Done, Response& response) { then(response); });
}

void Store::set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl, Response& response,
                Then then) {
  detail::check_key("set", key);
  detail::check_value("set", value);
  if (ttl.count() < 1) throw std::invalid_argument("corral::Store::set: the ttl must be 1 ms or more");
  detail::check_continuable("Store::set", response);
  auto& store = *owner_;
  detail::continue_response<detail::Done>(
      store, response, detail::Access::write,
      [&](auto done) { store.backend().set(detail::KeySpace::data, key, value, ttl, std::move(done)); },
      [then = std::move(then)](detail::Done, Response& response) { then(response); });
}

void Store::erase(std::string_view key, Response& response, Then then) {
  detail::check_key("erase", key);
  detail::check_continuable("Store::erase", response);
  auto& store = *owner_;
  detail::continue_response<detail::Done>(
      store, response, detail::Access::write,
      [&](auto done) { store.backend().erase(detail::KeySpace::data, key, std::move(done)); },
      [then = std::move(then)](detail::Done, Response& response) { then(response); });
}

void Store::increment(std::string_view key, std::int64_t by, Response& response, ThenCount then) {
  detail::check_key("increment", key);
  detail::check_continuable("Store::increment", response);
  auto& store = *owner_;
  detail::continue_response<std::int64_t>(
      store, response, detail::Access::write,
      [&](auto done) { store.backend().increment(key, by, std::move(done)); }, std::move(then));
}

Store& Request::store() const {
  if (store_ == nullptr) throw std::logic_error("corral::Request::store: this request is not served by a worker");
  return store_->store();
}

}  // namespace corral
