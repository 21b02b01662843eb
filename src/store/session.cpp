// The public Session and Request::session(): a session from its cookie to its save,
// which happens when its answer is sent, however late that is.
#include "corral/store.hpp"

#include <stdexcept>


#include "corral/request.hpp"
#include "corral/response.hpp"
#include "http/response_access.hpp"
#include "store/continuation.hpp"
#include "store/session_record.hpp"
#include "store/worker_store.hpp"

namespace corral {
namespace detail {

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

// A session while its request is answered: kept alive until the answer is sent, which
// may be long after the function that was given it returned. One allocation per
// request that has a session (the session lives in it, its id is moved in).
struct SessionState {
  WorkerStore& store;
  Session session;
  std::string id;  // empty: a new session
  bool refresh_due = false;
};

// A new, empty session: no cookie, or one that names no stored session.
std::shared_ptr<SessionState> fresh_state(WorkerStore& store) {
  return std::make_shared<SessionState>(SessionState{store, SessionAccess::fresh(), {}});
}

// What saving a session takes, decided when its answer is sent.
struct SessionSave {
  std::optional<std::string> new_id;  // written whatever is there (a new or regenerated session)
  std::string rewrite_id;             // written only if still there (it may have been destroyed meanwhile)
  std::string erase_id;               // erased after the write (regenerated, destroyed, emptied)
  std::string record;
  std::optional<Cookie> cookie;       // sent if the save keeps the session (or ends it)

  bool nothing() const { return !new_id && rewrite_id.empty() && erase_id.empty(); }
};

SessionSave plan_save(const SessionState& state) {
  const auto& session = state.session;
  const auto& options = state.store.sessions();
  const auto& id = state.id;
  SessionSave save;
  auto cookie_for = [&](std::string value, std::chrono::seconds max_age) {
    Cookie cookie(options.cookie_name, std::move(value));
    cookie.secure = options.secure_cookie;
    cookie.max_age = max_age;
    return cookie;
  };
  const bool ends = SessionAccess::destroyed(session) || (session.fields().empty() && !id.empty() &&
                                                           (SessionAccess::changed(session)));
  if (ends) {
    if (!id.empty()) {
      save.erase_id = id;
      save.cookie = cookie_for("", std::chrono::seconds(0));
    }
    return save;
  }
  // An empty new session is not stored (no cookie for a visitor who has nothing).
  if (session.fields().empty()) return save;
  const bool regenerate = id.empty() || SessionAccess::regenerate(session);
  if (!regenerate && !SessionAccess::changed(session) && !state.refresh_due) return save;
  save.record = encode_session({session.fields(), state.store.now_ms()});
  if (regenerate) {
    save.new_id = new_session_id();
    save.erase_id = id;
  } else {
    save.rewrite_id = id;
  }
  save.cookie = cookie_for(save.new_id.value_or(id),
                           std::chrono::duration_cast<std::chrono::seconds>(options.lifetime));
  return save;
}

// Writes, then erases (a failed write leaves the old session in place); reports once:
// the first failure, or whether the session is still there to send a cookie for.
void issue_save(WorkerStore& store, const SessionSave& save, StoreBackend::Callback<bool> done) {
  struct Progress {
    int remaining = 0;
    bool kept = true;
    std::optional<StoreFailure> failure;
    StoreBackend::Callback<bool> done;
    void step(const StoreFailure* failed) {
      if (failed != nullptr && !failure) failure = *failed;
      if (--remaining > 0) return;
      if (failure) {
        done(*failure);
      } else {
        done(kept);
      }
    }
  };
  auto progress = std::make_shared<Progress>();
  progress->remaining = (save.new_id ? 1 : 0) + (save.rewrite_id.empty() ? 0 : 1) + (save.erase_id.empty() ? 0 : 1);
  progress->done = std::move(done);
  auto& backend = store.backend();
  const auto lifetime = store.sessions().lifetime;
  auto written = [progress](Outcome<Done> outcome) { progress->step(outcome.ok() ? nullptr : &outcome.failure()); };
  if (save.new_id) backend.set(KeySpace::session, *save.new_id, save.record, lifetime, written);
  if (!save.rewrite_id.empty()) {
    backend.replace(KeySpace::session, save.rewrite_id, save.record, lifetime, [progress](Outcome<bool> outcome) {
      if (outcome.ok() && !outcome.value()) progress->kept = false;
      progress->step(outcome.ok() ? nullptr : &outcome.failure());
    });
  }
  if (!save.erase_id.empty()) backend.erase(KeySpace::session, save.erase_id, written);
}

using Send = std::function<void(Response&&)>;

// Saves the session as it is now, then sends `answer` with its cookie; a failed save
// sends 503 instead. A session destroyed by another request meanwhile stays destroyed,
// and its cookie is not sent again.
void save_then_send(const std::shared_ptr<SessionState>& state, Response answer, Send send) {
  auto save = plan_save(*state);
  if (save.nothing()) {
    send(std::move(answer));
    return;
  }
  auto cookie = save.cookie;
  issue_save(state->store, save,
             [state, cookie = std::move(cookie), answer = std::move(answer), send = std::move(send)](
                 Outcome<bool> outcome) mutable {
               if (!outcome.ok()) {
                 Response failure;
                 answer_failure(failure, outcome.failure());
                 send(std::move(failure));
                 return;
               }
               if (outcome.value() && cookie) answer.set_cookie(*cookie);
               send(std::move(answer));
             });
}

// An answer deferred from a session's function: saves the session when it is sent.
class SavingAnswer final : public PendingAnswer {
 public:
  SavingAnswer(std::shared_ptr<SessionState> state, std::shared_ptr<PendingAnswer> target)
      : state_(std::move(state)), target_(std::move(target)) {}
  void answer(Response&& response) override {
    save_then_send(state_, std::move(response), [target = target_](Response&& saved) {
      target->answer(std::move(saved));
    });
  }
  bool client_connected() const override { return target_->client_connected(); }

 private:
  std::shared_ptr<SessionState> state_;
  std::shared_ptr<PendingAnswer> target_;
};

// What a session's function defers through: its answer passes by the session's save.
class SessionDeferrer final : public Deferrer {
 public:
  SessionDeferrer(std::shared_ptr<SessionState> state, Deferrer* original)
      : state_(std::move(state)), original_(original) {}
  std::shared_ptr<PendingAnswer> defer() override {
    if (original_ == nullptr) {
      throw std::logic_error("corral::Response::defer: this session's response cannot be deferred");
    }
    deferred_ = true;
    return std::make_shared<SavingAnswer>(state_, original_->defer());
  }
  bool deferred() const { return deferred_; }

 private:
  std::shared_ptr<SessionState> state_;
  Deferrer* original_;
  bool deferred_ = false;
};

using SessionThen = std::function<void(Session&, Response&)>;

void run_session(Response& response, const std::shared_ptr<SessionState>& state, const SessionThen& then) {
  auto* original = ResponseAccess::deferrer(response);
  SessionDeferrer deferrer(state, original);
  ResponseAccess::set_deferrer(response, &deferrer);
  try {
    then(state->session, response);
  } catch (...) {
    ResponseAccess::set_deferrer(response, deferrer.deferred() ? nullptr : original);
    throw;
  }
  if (deferrer.deferred()) {
    ResponseAccess::set_deferrer(response, nullptr);
    return;  // the session is saved when the deferred answer is sent
  }
  ResponseAccess::set_deferrer(response, original);
  if (plan_save(*state).nothing()) return;
  if (state->store.backend().answers_inline(Access::write)) {
    // Saved before this returns, and the response rewritten with its cookie (or 503).
    save_then_send(state, response, [&response](Response&& saved) {
      ResponseAccess::replace_keeping_deferrer(response, std::move(saved));
    });
    return;
  }
  Response answer = response;  // defer() discards what the response holds
  const auto target = ResponseAccess::target(response.defer());
  save_then_send(state, std::move(answer), [target](Response&& saved) { target->answer(std::move(saved)); });
}

}  // namespace
}  // namespace detail

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

void Request::session(Response& response, std::function<void(Session&, Response&)> then) const {
  if (store_ == nullptr) throw std::logic_error("corral::Request::session: this request is not served by a worker");
  detail::check_continuable("Request::session", response);
  auto& store = *store_;
  const auto cookie = this->cookie(store.sessions().cookie_name);
  if (!cookie || !detail::valid_session_id(*cookie)) {
    detail::run_session(response, detail::fresh_state(store), then);
    return;
  }
  // The backend copies the key before get() returns; the continuation keeps its own.
  detail::continue_response<std::optional<std::string>>(
      store, response, detail::Access::read,
      [&](auto done) { store.backend().get(detail::KeySpace::session, *cookie, std::move(done)); },
      [&store, id = std::string(*cookie), then = std::move(then)](std::optional<std::string> stored,
                                                                   Response& response) mutable {
        auto record = stored ? detail::decode_session(*stored) : std::nullopt;
        std::shared_ptr<detail::SessionState> state;
        if (!record) {
          // Unknown, expired or not ours: a new session, never under the id the client chose.
          state = detail::fresh_state(store);
        } else {
          const bool refresh_due =
              detail::needs_refresh(record->refreshed_at_ms, store.now_ms(), store.sessions().lifetime);
          state = std::make_shared<detail::SessionState>(detail::SessionState{
              store, detail::SessionAccess::loaded(std::move(record->fields)), std::move(id), refresh_due});
        }
        detail::run_session(response, state, then);
      });
}

}  // namespace corral
