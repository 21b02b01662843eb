#include "store/redis_backend.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace corral::detail {

// hiredis calls C functions; these find the backend again and never let an exception
// cross hiredis's frames.
struct RedisBackend::Hooks {
  static RedisBackend& of(void* data) { return *static_cast<RedisBackend*>(data); }
  static std::string error_of(const redisAsyncContext* context) {
    return context->errstr[0] != '\0' ? std::string(context->errstr) : std::string("connection closed");
  }

  // epoll_ctl can fail (no memory): never through hiredis's frames; the connection is
  // dropped from the loop instead, as if it had failed.
  static void watch(void* data, std::uint32_t events, bool on) {
    auto& backend = of(data);
    try {
      backend.watch(events, on);
    } catch (const std::exception& error) {
      backend.loop_.defer([&backend, what = std::string(error.what())] {
        if (backend.context_ == nullptr) return;
        auto* context = std::exchange(backend.context_, nullptr);
        backend.went_down(what);
        redisAsyncFree(context);
      });
    }
  }
  static void add_read(void* data) { watch(data, EPOLLIN, true); }
  static void del_read(void* data) { watch(data, EPOLLIN, false); }
  static void add_write(void* data) { watch(data, EPOLLOUT, true); }
  static void del_write(void* data) { watch(data, EPOLLOUT, false); }
  static void cleanup(void* data) { watch(data, EPOLLIN | EPOLLOUT, false); }

  static void connected(const redisAsyncContext* context, int status) {
    of(context->data).on_connected(status == REDIS_OK, error_of(context));
  }
  static void disconnected(const redisAsyncContext* context, int status) {
    of(context->data).on_disconnected(status == REDIS_OK, error_of(context));
  }

  struct Pending {
    RedisBackend* backend;
    ReplyHandler on_reply;
  };
  static void replied(redisAsyncContext* context, void* reply, void* data) {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(data));
    auto& backend = *pending->backend;
    if (!backend.sent_at_.empty()) backend.sent_at_.pop_front();
    // The worker is exiting: nothing that would answer a request is alive any more.
    if (backend.closing_) return;
    try {
      pending->on_reply(static_cast<redisReply*>(reply), reply == nullptr ? error_of(context) : std::string());
    } catch (...) {
      // Not through hiredis: rethrown from the loop, which ends the worker like a crash.
      backend.loop_.defer([error = std::current_exception()] { std::rethrow_exception(error); });
    }
  }
};

namespace {

std::optional<std::string> reply_error(redisReply* reply, const std::string& error) {
  if (reply == nullptr) return error.empty() ? std::string("no reply") : error;
  if (reply->type == REDIS_REPLY_ERROR) return std::string(reply->str, reply->len);
  return std::nullopt;
}

// Error replies that say Redis cannot serve now, as opposed to a wrong command.
bool unavailable_error(std::string_view text) {
  for (const std::string_view prefix : {"LOADING", "READONLY", "MASTERDOWN", "NOAUTH", "WRONGPASS", "OOM", "BUSY",
                                        "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "MISCONF", "ERR max number of clients"}) {
    if (text.starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace

RedisBackend::RedisBackend(EventLoop& loop, StoreAddress address, std::optional<std::string> password,
                           std::string_view service_name, std::chrono::milliseconds timeout)
    : loop_(loop),
      address_(std::move(address)),
      password_(std::move(password)),
      data_prefix_(fmt::format("{}:", service_name)),
      session_prefix_(fmt::format("{}@session:", service_name)),
      task_prefix_(fmt::format("{}@task:", service_name)),
      timeout_(timeout),
      socket_handler_([this](std::uint32_t events) { on_socket_events(events); }),
      deadline_timer_(loop),
      reconnect_timer_(loop) {
  connect();
}

RedisBackend::~RedisBackend() {
  closing_ = true;
  if (context_ != nullptr) {
    auto* context = context_;
    context_ = nullptr;
    redisAsyncFree(context);  // fails what still waits; the worker is exiting
  }
}

void RedisBackend::connect() {
  redisAsyncContext* context = address_.kind == StoreAddress::Kind::redis_unix
                                   ? redisAsyncConnectUnix(address_.path.c_str())
                                   : redisAsyncConnect(address_.host.c_str(), address_.port);
  if (context == nullptr) {
    went_down("redisAsyncConnect: out of memory");
    return;
  }
  if (context->err != 0) {
    const auto error = fmt::format("redisAsyncConnect: {}", context->errstr);
    redisAsyncFree(context);
    went_down(error);
    return;
  }
  context_ = context;
  context->data = this;
  context->ev.data = this;
  context->ev.addRead = Hooks::add_read;
  context->ev.delRead = Hooks::del_read;
  context->ev.addWrite = Hooks::add_write;
  context->ev.delWrite = Hooks::del_write;
  context->ev.cleanup = Hooks::cleanup;
  redisAsyncSetConnectCallback(context, Hooks::connected);
  redisAsyncSetDisconnectCallback(context, Hooks::disconnected);
  // hiredis 0.14 finishes a non-blocking connect when the socket turns writable: watch
  // for that now, or an idle worker would never learn that Redis is back.
  Hooks::add_write(this);
  // A TCP connection that dies silently (a host gone, a firewall) is noticed.
  if (address_.kind == StoreAddress::Kind::redis_tcp) redisEnableKeepAlive(&context->c);
  // Sent first, ahead of anything queued while connecting.
  auto check = [this](const char* what) {
    return [this, what](redisReply* reply, const std::string& error) {
      if (const auto failed = reply_error(reply, error); failed && reply != nullptr && context_ != nullptr) {
        went_down(fmt::format("{} was refused: {}", what, *failed));
        auto* context = context_;
        context_ = nullptr;
        redisAsyncFree(context);
      }
    };
  };
  if (password_) {
    if (address_.user.empty()) {
      command({"AUTH", *password_}, check("AUTH"));
    } else {
      command({"AUTH", address_.user, *password_}, check("AUTH"));
    }
  }
  if (address_.database != 0) {
    const auto database = std::to_string(address_.database);
    command({"SELECT", database}, check("SELECT"));
  }
}

void RedisBackend::on_connected(bool ok, const std::string& error) {
  if (!ok) {
    // hiredis frees the context after this returns.
    context_ = nullptr;
    went_down(fmt::format("connecting: {}", error));
    return;
  }
  backoff_.succeeded();
  if (down_) spdlog::info("store: {} answers again", address_.describe());
  down_ = false;
}

void RedisBackend::on_disconnected(bool ok, const std::string& error) {
  if (context_ == nullptr || closing_) return;  // we dropped it ourselves
  context_ = nullptr;
  went_down(ok ? std::string("the connection closed") : fmt::format("the connection failed: {}", error));
}

void RedisBackend::went_down(const std::string& why) {
  if (closing_) return;
  // A connection that was up is tried again at once (an idle timeout, a failover):
  // only a failed attempt waits.
  next_retry_ = up_ ? std::chrono::milliseconds(0) : backoff_.next();
  up_ = false;
  if (!down_) {
    spdlog::error("store: {} is unavailable ({}); answering 503 for store routes and reconnecting",
                  address_.describe(), why);
  }
  down_ = true;
  if (!reconnect_timer_.armed()) reconnect_timer_.expires_after(next_retry_, [this] { connect(); });
}

void RedisBackend::watch(std::uint32_t events, bool on) {
  const std::uint32_t interest = on ? (interest_ | events) : (interest_ & ~events);
  const int fd = context_ != nullptr ? context_->c.fd : watched_fd_;
  if (interest == 0) {
    if (watched_fd_ >= 0) loop_.remove(watched_fd_);
    watched_fd_ = -1;
  } else if (watched_fd_ < 0) {
    loop_.add(fd, interest, socket_handler_);
    watched_fd_ = fd;
  } else if (interest != interest_) {
    loop_.modify(watched_fd_, interest, socket_handler_);
  }
  interest_ = interest;
}

void RedisBackend::on_socket_events(std::uint32_t events) {
  if (context_ == nullptr) return;  // an event of a connection dropped earlier in this turn
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) redisAsyncHandleRead(context_);
  if (context_ != nullptr && (events & (EPOLLOUT | EPOLLERR)) != 0) redisAsyncHandleWrite(context_);
}

void RedisBackend::command(std::vector<std::string_view> arguments, ReplyHandler on_reply) {
  if (context_ == nullptr) {
    fail_soon(std::move(on_reply));
    return;
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(arguments.size());
  lengths.reserve(arguments.size());
  for (const auto argument : arguments) {
    argv.push_back(argument.data());
    lengths.push_back(argument.size());
  }
  auto pending = std::make_unique<Hooks::Pending>(Hooks::Pending{this, std::move(on_reply)});
  if (redisAsyncCommandArgv(context_, Hooks::replied, pending.get(), static_cast<int>(argv.size()), argv.data(),
                            lengths.data()) != REDIS_OK) {
    fail_soon(std::move(pending->on_reply));
    return;
  }
  pending.release();  // hiredis owns it until Hooks::replied
  sent_at_.push_back(loop_.now());
  arm_deadline();
}

void RedisBackend::fail_soon(ReplyHandler on_reply) {
  // Never from inside the caller's call: a failure is reported like a reply, later.
  loop_.defer([on_reply = std::move(on_reply)] { on_reply(nullptr, "not connected"); });
}

void RedisBackend::arm_deadline() {
  if (deadline_timer_.armed() || sent_at_.empty()) return;
  deadline_timer_.expires_at(sent_at_.front() + timeout_, [this] { on_deadline(); });
}

void RedisBackend::on_deadline() {
  if (sent_at_.empty() || context_ == nullptr) return;
  if (sent_at_.front() + timeout_ > loop_.now()) {
    arm_deadline();
    return;
  }
  went_down(fmt::format("no reply within {} ms", timeout_.count()));
  auto* context = context_;
  context_ = nullptr;
  redisAsyncFree(context);  // fails every waiting command
  sent_at_.clear();
}

StoreFailure RedisBackend::failure(const char* command, redisReply* reply, const std::string& error) const {
  const auto text = reply_error(reply, error).value_or("an unexpected reply");
  const auto message = fmt::format("store: {} on {}: {}", command, address_.describe(), text);
  if (reply != nullptr && !unavailable_error(text)) return StoreFailure{StoreFailure::Kind::misuse, message, {}};
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(next_retry_ + std::chrono::milliseconds(999));
  return StoreFailure{StoreFailure::Kind::unavailable, message, std::max(seconds, std::chrono::seconds(1))};
}

std::string RedisBackend::key(KeySpace space, std::string_view key) const {
  std::string full = space == KeySpace::data ? data_prefix_ : session_prefix_;
  full += key;
  return full;
}

void RedisBackend::get(KeySpace space, std::string_view key, Callback<std::optional<std::string>> done) {
  const auto full = this->key(space, key);
  command({"GET", full}, [this, done = std::move(done)](redisReply* reply, const std::string& error) {
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) return done(failure("GET", reply, error));
    if (reply->type == REDIS_REPLY_NIL) return done(std::optional<std::string>());
    if (reply->type != REDIS_REPLY_STRING) return done(failure("GET", reply, error));
    return done(std::optional<std::string>(std::string(reply->str, reply->len)));
  });
}

void RedisBackend::set(KeySpace space, std::string_view key, std::string_view value,
                       std::optional<std::chrono::milliseconds> ttl, Callback<Done> done) {
  const auto full = this->key(space, key);
  auto on_reply = [this, done = std::move(done)](redisReply* reply, const std::string& error) {
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) return done(failure("SET", reply, error));
    return done(Done{});
  };
  if (ttl) {
    const auto milliseconds = std::to_string(std::max<std::int64_t>(ttl->count(), 1));
    command({"SET", full, value, "PX", milliseconds}, std::move(on_reply));
  } else {
    command({"SET", full, value}, std::move(on_reply));
  }
}

void RedisBackend::replace(KeySpace space, std::string_view key, std::string_view value,
                           std::chrono::milliseconds ttl, Callback<bool> done) {
  const auto full = this->key(space, key);
  const auto milliseconds = std::to_string(std::max<std::int64_t>(ttl.count(), 1));
  // XX: only if the key is there, so a session destroyed meanwhile is not brought back.
  command({"SET", full, value, "PX", milliseconds, "XX"},
          [this, done = std::move(done)](redisReply* reply, const std::string& error) {
            if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) return done(failure("SET XX", reply, error));
            return done(reply->type != REDIS_REPLY_NIL);
          });
}

void RedisBackend::erase(KeySpace space, std::string_view key, Callback<Done> done) {
  const auto full = this->key(space, key);
  command({"DEL", full}, [this, done = std::move(done)](redisReply* reply, const std::string& error) {
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) return done(failure("DEL", reply, error));
    return done(Done{});
  });
}

void RedisBackend::increment(std::string_view key, std::int64_t by, Callback<std::int64_t> done) {
  const auto full = this->key(KeySpace::data, key);
  const auto amount = std::to_string(by);
  command({"INCRBY", full, amount}, [this, done = std::move(done)](redisReply* reply, const std::string& error) {
    if (reply == nullptr || reply->type != REDIS_REPLY_INTEGER) return done(failure("INCRBY", reply, error));
    return done(static_cast<std::int64_t>(reply->integer));
  });
}

namespace {

// Lua runs atomically in Redis: no other command comes between the SET NX and the
// GET that recognises this instance's own lock (a retry after its worker died).
constexpr const char* claim_script =
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end "
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end "
    "return 0";
// Only the owner releases: a lock that expired and was taken by another instance
// meanwhile is left alone.
constexpr const char* release_script =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
    "if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) else redis.call('DEL', KEYS[1]) end "
    "return 1";

}  // namespace

void RedisBackend::claim_run(std::string_view run, std::uint64_t token, std::chrono::milliseconds ttl,
                             Callback<bool> done) {
  const auto full = task_prefix_ + std::string(run);
  const auto owner = std::to_string(token);
  const auto milliseconds = std::to_string(std::max<std::int64_t>(ttl.count(), 1));
  command({"EVAL", claim_script, "1", full, owner, milliseconds},
          [this, done = std::move(done)](redisReply* reply, const std::string& error) {
            if (reply == nullptr || reply->type != REDIS_REPLY_INTEGER) return done(failure("EVAL (claim a task run)", reply, error));
            return done(reply->integer == 1);
          });
}

void RedisBackend::release_run(std::string_view run, std::uint64_t token, std::chrono::milliseconds keep,
                               Callback<Done> done) {
  const auto full = task_prefix_ + std::string(run);
  const auto owner = std::to_string(token);
  const auto milliseconds = std::to_string(std::max<std::int64_t>(keep.count(), 0));
  command({"EVAL", release_script, "1", full, owner, milliseconds},
          [this, done = std::move(done)](redisReply* reply, const std::string& error) {
            if (reply == nullptr || reply->type != REDIS_REPLY_INTEGER) return done(failure("EVAL (release a task run)", reply, error));
            return done(Done{});
          });
}

}  // namespace corral::detail
