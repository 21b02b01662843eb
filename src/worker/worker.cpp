#include "worker/worker.hpp"
#include "worker/run_worker.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/exit_code.hpp"
#include "common/logging.hpp"
#include "common/process_title.hpp"
#include "common/system_error.hpp"
#include "http/routes.hpp"
#include "ipc/channel.hpp"
#include "worker/crash_guard.hpp"
#include "worker/http_session.hpp"

namespace corral {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr auto heartbeat_interval = std::chrono::seconds(1);
// Left without a supervisor, a worker finishes what it has quickly: nobody would replace
// it, and a new supervisor may already be starting workers on the same socket.
constexpr auto orphan_drain_deadline = std::chrono::seconds(1);

tcp protocol_of(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw_system_error("getsockname", fmt::format("adopting listen fd {}", fd));
  }
  return address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
}

std::string milliseconds_text(std::chrono::milliseconds value) {
  return fmt::format("{} ms", value.count());
}

}  // namespace

Worker::Worker(const Settings& settings, const WorkerIdentity& identity)
    : settings_(settings),
      identity_(identity),
      router_(http::make_router({::getpid(), identity.supervisor_pid, settings.enable_debug_routes})),
      channel_(io_, identity.channel_fd),
      heartbeat_timer_(io_),
      drain_timer_(io_),
      terminate_signals_(io_, SIGTERM) {
  for (const int fd : identity_.listen_fds) {
    const auto protocol = protocol_of(fd);
    accept_threads_.push_back(std::make_unique<AcceptThread>(
        io_, fd, [this, protocol](int connection) { on_connection(connection, protocol); },
        [this](int error) { on_accept_error(error); }));
  }
}

Worker::~Worker() = default;

int Worker::run() {
  for (auto& thread : accept_threads_) thread->start();
  terminate_signals_.async_wait([this](const boost::system::error_code& error, int) {
    if (!error) on_terminate_signal();
  });
  read_channel();
  ipc::send_message(channel_.native_handle(),
                    ipc::Message::ready(identity_.slot, identity_.generation, requests_));
  schedule_heartbeat();
  io_.run();
  stopped_ = true;
  spdlog::info("exiting after {} requests", requests_);
  return exit_code::ok;
}

void Worker::on_connection(int fd, tcp protocol) {
  tcp::socket socket(io_);
  boost::system::error_code error;
  socket.assign(protocol, fd, error);
  if (error) {
    ::close(fd);
    spdlog::warn("could not take an accepted connection: {}", error.message());
    stop_if_drained();
    return;
  }
  socket.set_option(tcp::no_delay(true), error);
  // A connection accepted while the drain began is still served (once, with
  // Connection: close): dropping it would lose a request.
  std::make_shared<HttpSession>(std::move(socket), *this)->start();
  if (draining_) stop_if_drained();
}

void Worker::on_accept_error(int error) {
  // Out of fds or memory, the thread retries every 100 ms: log at most once a second.
  const auto now = std::chrono::steady_clock::now();
  if (now - last_accept_error_log_ < std::chrono::seconds(1)) return;
  last_accept_error_log_ = now;
  spdlog::warn("accept() failed: {}; the connection waits in the queue for a worker that can take it",
               std::strerror(error));
}

void Worker::schedule_heartbeat() {
  heartbeat_timer_.expires_after(heartbeat_interval);
  heartbeat_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;
    if (::getppid() != identity_.supervisor_pid) {
      begin_drain("the supervisor is gone (parent changed)", orphan_drain_deadline);
    }
    ipc::send_message(channel_.native_handle(),
                      ipc::Message::heartbeat(identity_.slot, identity_.generation, requests_));
    schedule_heartbeat();
  });
}

void Worker::read_channel() {
  channel_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& error) {
    if (error) return;
    ipc::Message message;
    for (;;) {
      switch (ipc::receive_message(channel_.native_handle(), message)) {
        case ipc::Received::message:
          if (message.kind == ipc::Kind::drain) {
            begin_drain("the supervisor asked", std::chrono::milliseconds(message.value));
          }
          continue;
        case ipc::Received::malformed:
          spdlog::warn("ignored a datagram from the supervisor that is not a corral message");
          continue;
        case ipc::Received::closed:
          begin_drain("the supervisor is gone (channel closed)", orphan_drain_deadline);
          return;
        case ipc::Received::nothing:
          read_channel();
          return;
      }
    }
  });
}

void Worker::on_terminate_signal() {
  if (::getppid() != identity_.supervisor_pid) {
    begin_drain("the supervisor is gone (SIGTERM from the parent-death signal)", orphan_drain_deadline);
  } else {
    begin_drain("SIGTERM received", settings_.drain_timeout);
  }
}

void Worker::on_handler_exception(const std::string& what) {
  if (!suicide_sent_) {
    suicide_sent_ = true;
    const auto reason = fmt::format("uncaught exception: {}", what);
    spdlog::error("{} in a request handler; sending a suicide notice", reason);
    ipc::send_message(channel_.native_handle(),
                      ipc::Message::suicide_notice(identity_.slot, identity_.generation, reason, requests_));
  }
  begin_drain("an uncaught exception left this worker's state suspect", settings_.drain_timeout);
}

void Worker::begin_drain(const std::string& reason, std::chrono::milliseconds deadline) {
  const auto new_deadline = std::chrono::steady_clock::now() + deadline;
  if (draining_ && new_deadline >= drain_deadline_) return;
  if (!draining_) {
    draining_ = true;
    spdlog::info("draining: {}; {} connections open, deadline {}", reason, sessions_.size(),
                 milliseconds_text(deadline));
    // No more accept(); what the threads took before they stopped is already posted and
    // will be served. The socket itself stays open in the supervisor, the other workers
    // and systemd.
    for (auto& thread : accept_threads_) thread->stop();
    terminate_signals_.cancel();
    // Sessions may end (and leave the set) while being told.
    const std::vector<HttpSession*> sessions(sessions_.begin(), sessions_.end());
    for (auto* session : sessions) session->drain();
  }
  drain_deadline_ = new_deadline;
  drain_timer_.expires_at(drain_deadline_);
  drain_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;
    spdlog::warn("drain deadline passed with {} connections still open; closing them", sessions_.size());
    io_.stop();
  });
  stop_if_drained();
}

void Worker::stop_if_drained() {
  const bool connections_on_their_way =
      std::any_of(accept_threads_.begin(), accept_threads_.end(), [](const auto& thread) { return thread->has_pending(); });
  if (draining_ && sessions_.empty() && !connections_on_their_way && !stopped_) {
    heartbeat_timer_.cancel();
    drain_timer_.cancel();
    channel_.cancel();
    io_.stop();
  }
}

const std::string& Worker::date_header() {
  const std::time_t now = std::time(nullptr);
  if (now != date_second_) {
    date_second_ = now;
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    char text[64];
    const auto length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    date_.assign(text, length);
  }
  return date_;
}

void Worker::count_request() {
  ++requests_;
  crash_guard_count_request();
  if (requests_ == 1) {
    // Tell the supervisor at once, not at the next heartbeat: a worker that has served
    // is replaced at once if it dies, one that has not is backed off.
    ipc::send_message(channel_.native_handle(),
                      ipc::Message::heartbeat(identity_.slot, identity_.generation, requests_));
  }
}

void Worker::add_session(HttpSession* session) {
  sessions_.insert(session);
}

void Worker::remove_session(HttpSession* session) {
  sessions_.erase(session);
  if (!stopped_) stop_if_drained();
}

int run_worker(const Settings& settings, const WorkerIdentity& identity) {
  init_logging({"worker", static_cast<int>(identity.slot), identity.generation}, settings.log_level);
  std::unique_ptr<Worker> worker;
  try {
    // Die with the supervisor: the parent-death signal, then a check that it did not
    // die before we asked (the heartbeat re-checks, and channel EOF tells too).
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) throw_system_error("prctl(PR_SET_PDEATHSIG)", "starting a worker");
    if (::getppid() != identity.supervisor_pid) {
      spdlog::warn("supervisor {} is already gone; exiting", identity.supervisor_pid);
      return exit_code::ok;
    }
    if (settings.debug_fail_start) throw std::runtime_error("failing on purpose (--debug-fail-start)");
    // The supervisor coordinates stopping; a Ctrl-C that reaches the whole process
    // group must not kill workers in the middle of a request.
    for (const int signal : {SIGINT, SIGQUIT, SIGHUP, SIGPIPE}) ::signal(signal, SIG_IGN);
    install_crash_guard(identity.channel_fd, identity.slot, identity.generation);
    process_title::set(fmt::format("corral: worker {}", identity.slot));
    worker = std::make_unique<Worker>(settings, identity);
  } catch (const std::exception& error) {
    // A distinct exit code: the supervisor backs off instead of restarting at once.
    spdlog::critical("worker could not start: {}", error.what());
    return exit_code::worker_start_failed;
  }
  try {
    return worker->run();
  } catch (const std::exception& error) {
    spdlog::critical("worker failed: {}", error.what());
    return exit_code::failure;
  }
}

}  // namespace corral
