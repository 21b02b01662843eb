#include "store/redis_backend.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/redis_reply.hpp"

namespace corral::detail {

// hiredis calls C functions; these find the backend again and never let an exception
// cross hiredis's frames.
struct RedisBackend::Hooks {
  static RedisBackend& of(void* data) { return *static_cast<RedisBackend*>(data); }

  static void connected(const redisAsyncContext* context, int status) {
    auto& backend = of(context->data);
    outside_hiredis(backend.loop_, [&] { backend.on_connected(status == REDIS_OK, hiredis_error(context)); });
  }
  static void disconnected(const redisAsyncContext* context, int status) {
    auto& backend = of(context->data);
    outside_hiredis(backend.loop_, [&] { backend.on_disconnected(status == REDIS_OK, hiredis_error(context)); });
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
    outside_hiredis(backend.loop_, [&] {
      // Under Sentinel, a server that is no longer (or not yet) the primary says so: ask
      // the sentinels again, after this reply has been handled.
      const auto* answer = static_cast<redisReply*>(reply);
      if (backend.address_.kind == StoreAddress::Kind::redis_sentinel && answer != nullptr &&
          answer->type == REDIS_REPLY_ERROR && context == backend.context_) {
        const std::string_view text(answer->str, answer->len);
        if (text.starts_with("READONLY") || text.starts_with("LOADING") || text.starts_with("MASTERDOWN")) {
          // By generation, not by pointer: a connection opened meanwhile (a
          // +switch-master) may have been given the freed one's address.
          backend.defer([&backend, generation = backend.connection_generation_,
                         demoted = std::string(text.substr(0, 120))] {
            if (backend.connection_generation_ == generation) {
              backend.drop_and_reconnect(fmt::format("the server answered {}", demoted));
            }
          });
        }
      }
      pending->on_reply(static_cast<redisReply*>(reply), reply == nullptr ? hiredis_error(context) : std::string());
    });
  }
};

namespace {

// Error replies that say Redis cannot serve now, as opposed to a wrong command.
bool unavailable_error(std::string_view text) {
  for (const std::string_view prefix : {"LOADING", "READONLY", "MASTERDOWN", "NOAUTH", "WRONGPASS", "OOM", "BUSY",
                                        "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "MISCONF", "ERR max number of clients"}) {
    if (text.starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace

RedisBackend::RedisBackend(EventLoop& loop, StoreAddress address, Passwords passwords, std::string_view service_name,
                           std::chrono::milliseconds timeout, unsigned wait_replicas)
    : loop_(loop),
      address_(std::move(address)),
      passwords_(std::move(passwords)),
      client_name_(fmt::format("corral-{}", service_name)),
      data_prefix_(fmt::format("{}:", service_name)),
      session_prefix_(fmt::format("{}@session:", service_name)),
      task_prefix_(fmt::format("{}@task:", service_name)),
      timeout_(timeout),
      wait_replicas_(wait_replicas),
      // epoll_ctl failed (no memory): the connection is dropped, as if it had failed.
      events_(loop, [this](const std::string& why) { drop_and_reconnect(why); }),
      deadline_timer_(loop),
      reconnect_timer_(loop),
      waiting_timer_(loop),
      // Under Sentinel a failover ends when the sentinels have promoted a replica: asked
      // at most half a second apart, a worker is back within that of the promotion.
      backoff_(address_.kind == StoreAddress::Kind::redis_sentinel ? std::chrono::milliseconds(500)
                                                                   : std::chrono::milliseconds(5000)),
      barrier_timer_(loop),
      tracking_retry_timer_(loop) {
  if (address_.kind == StoreAddress::Kind::redis_sentinel) {
    switch_master_ = std::make_unique<SentinelSubscription>(
        loop, address_.sentinels, address_.master_name, passwords_.sentinel,
        [this](const HostPort& announced) { on_switch_master(announced); });
  }
  connect();
}

RedisBackend::~RedisBackend() {
  closing_ = true;
  switch_master_.reset();
  // Their barriers are answered (false) now, while this is whole; closing_ drops them.
  invalidations_.reset();
  retired_channels_.clear();
  if (context_ != nullptr) {
    auto* context = context_;
    context_ = nullptr;
    redisAsyncFree(context);  // fails what still waits; the worker is exiting
  }
}

void RedisBackend::defer(std::function<void()> work) {
  loop_.defer(deferrals_.wrap(std::move(work)));
}

void RedisBackend::connect() {
  if (address_.kind == StoreAddress::Kind::redis_sentinel) return ask_sentinel();
  if (!open_context(address_.kind == StoreAddress::Kind::redis_unix ? address_.path : address_.host,
                    address_.kind == StoreAddress::Kind::redis_unix ? 0 : address_.port)) {
    return;
  }
  send_handshake(false);
}

bool RedisBackend::open_context(const std::string& host_or_path, std::uint16_t port) {
  stop_tracking({});  // what the cache holds was tracked for the connection before
  redisAsyncContext* context =
      port == 0 ? redisAsyncConnectUnix(host_or_path.c_str()) : redisAsyncConnect(host_or_path.c_str(), port);
  if (context == nullptr) {
    went_down("redisAsyncConnect: out of memory");
    return false;
  }
  if (context->err != 0) {
    const auto error = fmt::format("redisAsyncConnect: {}", context->errstr);
    redisAsyncFree(context);
    went_down(error);
    return false;
  }
  context_ = context;
  ++connection_generation_;
  context->data = this;
  redisAsyncSetConnectCallback(context, Hooks::connected);
  redisAsyncSetDisconnectCallback(context, Hooks::disconnected);
  events_.attach(context);
  // A TCP connection that dies silently (a host gone, a firewall) is noticed.
  if (port != 0) redisEnableKeepAlive(&context->c);
  return true;
}

// A command of the connection's own, sent ahead of anything a request queued while
// connecting: a refusal drops the connection.
RedisBackend::ReplyHandler RedisBackend::must_succeed(std::string what) {
  return [this, what = std::move(what)](redisReply* reply, const std::string& error) {
    if (const auto failed = reply_error(reply, error); failed && reply != nullptr && context_ != nullptr) {
      drop_and_reconnect(fmt::format("{} was refused: {}", what, *failed));
    }
  };
}

void RedisBackend::send_handshake(bool check_role) {
  if (passwords_.data) {
    if (address_.user.empty()) {
      send({"AUTH", *passwords_.data}, must_succeed("AUTH"));
    } else {
      send({"AUTH", address_.user, *passwords_.data}, must_succeed("AUTH"));
    }
  }
  if (address_.database != 0) {
    const auto database = std::to_string(address_.database);
    send({"SELECT", database}, must_succeed("SELECT"));
  }
  // So that an administrator sees corral's connections in CLIENT LIST; a server whose
  // ACL forbids it is used all the same.
  send({"CLIENT", "SETNAME", client_name_}, [](redisReply*, const std::string&) {});
  if (check_role) check_role_then_send();
}

void RedisBackend::drop_and_reconnect(const std::string& why) {
  if (context_ == nullptr) return;
  auto* context = std::exchange(context_, nullptr);
  went_down(why);
  redisAsyncFree(context);  // from a reply callback, hiredis frees it once the callback is done
}

void RedisBackend::on_connected(bool ok, const std::string& error) {
  if (!ok) {
    // hiredis frees the context after this returns.
    context_ = nullptr;
    went_down(fmt::format("connecting: {}", error));
    return;
  }
  // Under Sentinel, the server is usable once ROLE has said it is the primary.
  if (address_.kind != StoreAddress::Kind::redis_sentinel) mark_up();
}

void RedisBackend::mark_up() {
  // A sentinel's connection is never marked up: this is the data server's.
  start_tracking();
  backoff_.succeeded();
  if (down_) spdlog::info("store: {} answers again", describe());
  down_ = false;
}

void RedisBackend::on_disconnected(bool ok, const std::string& error) {
  if (context_ == nullptr || closing_) return;  // we dropped it ourselves
  context_ = nullptr;
  went_down(ok ? std::string("the connection closed") : fmt::format("the connection failed: {}", error));
}

void RedisBackend::went_down(const std::string& why) {
  if (closing_) return;
  stop_tracking({});
  primary_confirmed_ = false;
  // The next attempt waits (100 ms, doubling, back to 100 ms after a success); the next
  // sentinel is asked at once, until each has been.
  const bool another_sentinel =
      asking_sentinel_ && ++sentinels_asked_ < address_.sentinels.size() && (++next_sentinel_, true);
  if (asking_sentinel_ && !another_sentinel) {
    sentinels_asked_ = 0;
    ++next_sentinel_;
  }
  asking_sentinel_ = false;
  next_retry_ = another_sentinel ? std::chrono::milliseconds(0) : backoff_.next();
  if (!down_) {
    spdlog::error("store: {} is unavailable ({}); answering 503 for store routes and reconnecting", describe(), why);
  }
  down_ = true;
  if (!reconnect_timer_.armed()) reconnect_timer_.expires_after(next_retry_, [this] { connect(); });
}

void RedisBackend::send(std::vector<std::string_view> arguments, ReplyHandler on_reply) {
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
  defer([on_reply = std::move(on_reply)] { on_reply(nullptr, "not connected"); });
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
  const auto message = fmt::format("store: {} on {}: {}", command, describe(), text);
  if (reply != nullptr && !unavailable_error(text)) return StoreFailure{StoreFailure::Kind::misuse, message, {}};
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(next_retry_ + std::chrono::milliseconds(999));
  return StoreFailure{StoreFailure::Kind::unavailable, message, std::max(seconds, std::chrono::seconds(1))};
}

std::string RedisBackend::key(KeySpace space, std::string_view key) const {
  std::string full = space == KeySpace::data ? data_prefix_ : session_prefix_;
  full += key;
  return full;
}

}  // namespace corral::detail
