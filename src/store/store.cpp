// The public Store and Session, and Request::store() and Request::session(), on the
// worker's StoreBackend.
#include "corral/store.hpp"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "corral/request.hpp"
#include "corral/response.hpp"
#include "http/response_access.hpp"
#include "store/continuation.hpp"
#include "store/session_record.hpp"
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

std::string session_key(std::string_view id) {
  return fmt::format("session:{}", id);
}

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

struct SessionAccess {
  static Session fresh() { return Session(); }
  static Session loaded(SessionFields fields) {
    Session session;
    session.fields_ = std::move(fields);
    session.is_new_ = false;
    return session;
  }
  static bool changed(const Session& s) { return s.changed_; }
  static bool regenerate(const Session& s) { return s.regenerate_; }
  static bool destroyed(const Session& s) { return s.destroyed_; }
};

namespace {

// What saving a session takes once the handler's function has returned.
struct SessionSave {
  std::string erase_id;                  // the old id, when regenerated or destroyed
  std::optional<std::string> write_id;   // the id written, with the record
  std::string record;
  std::optional<Cookie> cookie;          // the Set-Cookie the response carries
};

SessionSave plan_save(const Session& session, const std::string& id, bool refresh_due, WorkerStore& store) {
  const auto& options = store.sessions();
  SessionSave save;
  auto cookie_for = [&](std::string value, std::chrono::seconds max_age) {
    Cookie cookie(options.cookie_name, std::move(value));
    cookie.secure = options.secure_cookie;
    cookie.max_age = max_age;
    return cookie;
  };
  if (SessionAccess::destroyed(session)) {
    if (!id.empty()) {
      save.erase_id = id;
      save.cookie = cookie_for("", std::chrono::seconds(0));
    }
    return save;
  }
  const bool keep = !session.fields().empty();
  const bool new_id = id.empty() || SessionAccess::regenerate(session);
  // An empty new session is not stored (no cookie for a visitor who has nothing).
  if (!keep && id.empty()) return save;
  if (!SessionAccess::changed(session) && !SessionAccess::regenerate(session) && !refresh_due) return save;
  if (new_id && !id.empty()) save.erase_id = id;
  if (!keep) {
    // Everything was erased from a stored session: it is gone.
    save.erase_id = id;
    save.cookie = cookie_for("", std::chrono::seconds(0));
    return save;
  }
  save.write_id = new_id ? new_session_id() : id;
  save.record = encode_session({session.fields(), store.now_ms()});
  save.cookie = cookie_for(*save.write_id,
                           std::chrono::duration_cast<std::chrono::seconds>(options.lifetime));
  return save;
}

// Erases, then writes: reports once, with the first failure.
void issue_save(WorkerStore& store, const SessionSave& save, StoreBackend::Callback<Done> done) {
  struct Progress {
    int remaining;
    std::optional<StoreFailure> failure;
    StoreBackend::Callback<Done> done;
  };
  auto progress = std::make_shared<Progress>(
      Progress{(save.erase_id.empty() ? 0 : 1) + (save.write_id ? 1 : 0), std::nullopt, std::move(done)});
  auto step = [progress](Outcome<Done> outcome) {
    if (!outcome.ok() && !progress->failure) progress->failure = outcome.failure();
    if (--progress->remaining > 0) return;
    if (progress->failure) {
      progress->done(*progress->failure);
    } else {
      progress->done(Done{});
    }
  };
  auto& backend = store.backend();
  if (!save.erase_id.empty()) backend.erase(session_key(save.erase_id), step);
  if (save.write_id) backend.set(session_key(*save.write_id), save.record, store.sessions().lifetime, step);
}

using SessionThen = std::function<void(Session&, Response&)>;

void run_session(WorkerStore& store, Response& response, Session session, const std::string& id, bool refresh_due,
                 const SessionThen& then) {
  then(session, response);
  const auto save = plan_save(session, id, refresh_due, store);
  if (save.erase_id.empty() && !save.write_id) return;
  if (!deferrable(response)) {
    // The function deferred the answer itself; it cannot be sent before this save is
    // issued, and Redis answers in order, so the save is still ahead of it.
    issue_save(store, save, [](Outcome<Done> outcome) {
      if (!outcome.ok()) spdlog::warn("{} (saving a session whose answer was deferred)", outcome.failure().message);
    });
    if (save.cookie) spdlog::warn("a session changed after its answer was deferred; its cookie is not sent");
    return;
  }
  if (save.cookie) response.set_cookie(*save.cookie);
  auto issue = [&](StoreBackend::Callback<Done> done) { issue_save(store, save, std::move(done)); };
  if (store.backend().answers_inline()) {
    continue_response<Done>(store, response, issue, [](Done, Response&) {});
    return;
  }
  // The answer is sent once the save is done: it is made now and kept until then.
  continue_response<Done>(store, response, issue, [answer = response](Done, Response& response) mutable {
    ResponseAccess::replace_keeping_deferrer(response, std::move(answer));
  });
}

}  // namespace
}  // namespace detail

void Store::get(std::string_view key, Response& response, ThenValue then) {
  detail::check_key("get", key);
  auto& store = *owner_;
  detail::continue_response<std::optional<std::string>>(
      store, response, [&](auto done) { store.backend().get(key, std::move(done)); }, std::move(then));
}

void Store::set(std::string_view key, std::string_view value, Response& response, Then then) {
  detail::check_key("set", key);
  detail::check_value("set", value);
  auto& store = *owner_;
  detail::continue_response<detail::Done>(
      store, response, [&](auto done) { store.backend().set(key, value, std::nullopt, std::move(done)); },
      [then = std::move(then)](detail::Done, Response& response) { then(response); });
}

void Store::set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl, Response& response,
                Then then) {
  detail::check_key("set", key);
  detail::check_value("set", value);
  if (ttl.count() < 1) throw std::invalid_argument("corral::Store::set: the ttl must be 1 ms or more");
  auto& store = *owner_;
  detail::continue_response<detail::Done>(
      store, response, [&](auto done) { store.backend().set(key, value, ttl, std::move(done)); },
      [then = std::move(then)](detail::Done, Response& response) { then(response); });
}

void Store::erase(std::string_view key, Response& response, Then then) {
  detail::check_key("erase", key);
  auto& store = *owner_;
  detail::continue_response<detail::Done>(
      store, response, [&](auto done) { store.backend().erase(key, std::move(done)); },
      [then = std::move(then)](detail::Done, Response& response) { then(response); });
}

void Store::increment(std::string_view key, std::int64_t by, Response& response, ThenCount then) {
  detail::check_key("increment", key);
  auto& store = *owner_;
  detail::continue_response<std::int64_t>(
      store, response, [&](auto done) { store.backend().increment(key, by, std::move(done)); }, std::move(then));
}

std::optional<std::string_view> Session::get(std::string_view key) const {
  const auto found = fields_.find(key);
  if (found == fields_.end()) return std::nullopt;
  return found->second;
}

void Session::set(std::string_view key, std::string_view value) {
  fields_.insert_or_assign(std::string(key), std::string(value));
  changed_ = true;
}

void Session::erase(std::string_view key) {
  const auto found = fields_.find(key);
  if (found == fields_.end()) return;
  fields_.erase(found);
  changed_ = true;
}

void Session::destroy() noexcept {
  fields_.clear();
  destroyed_ = true;
}

Store& Request::store() const {
  if (store_ == nullptr) throw std::logic_error("corral::Request::store: this request is not served by a worker");
  return store_->store();
}

void Request::session(Response& response, std::function<void(Session&, Response&)> then) const {
  if (store_ == nullptr) throw std::logic_error("corral::Request::session: this request is not served by a worker");
  auto& store = *store_;
  const auto cookie = this->cookie(store.sessions().cookie_name);
  if (!cookie || !detail::valid_session_id(*cookie)) {
    detail::run_session(store, response, detail::SessionAccess::fresh(), "", false, then);
    return;
  }
  std::string id(*cookie);
  detail::continue_response<std::optional<std::string>>(
      store, response,
      [&](auto done) { store.backend().get(detail::session_key(id), std::move(done)); },
      [&store, id, then = std::move(then)](std::optional<std::string> stored, Response& response) {
        const auto record = stored ? detail::decode_session(*stored) : std::nullopt;
        if (!record) {
          // Unknown, expired or not ours: a new session, never under the id the client chose.
          detail::run_session(store, response, detail::SessionAccess::fresh(), "", false, then);
          return;
        }
        const bool refresh_due =
            detail::needs_refresh(record->refreshed_at_ms, store.now_ms(), store.sessions().lifetime);
        detail::run_session(store, response, detail::SessionAccess::loaded(record->fields), id, refresh_due, then);
      });
}

}  // namespace corral
