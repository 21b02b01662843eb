#include "control/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/system_error.hpp"
#include "control/protocol.hpp"
#include "net/peer_credentials.hpp"
#include "net/unix_address.hpp"

namespace corral::control {
namespace {

constexpr std::size_t max_clients = 16;
constexpr auto idle_limit = std::chrono::seconds(10);

sockaddr_un address_of(const std::string& path) {
  try {
    return net::unix_address(path);
  } catch (const std::invalid_argument& error) {
    throw std::runtime_error(fmt::format("control socket {}", error.what()));
  }
}

// True if a supervisor answers at `path` (a live socket, not a stale file). Never
// waits: a full backlog (EAGAIN) means someone listens.
bool someone_listens(const sockaddr_un& address) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return false;
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return true;
  return errno == EAGAIN;
}

}  // namespace

struct ControlServer::Client {
  UniqueFd socket;
  std::string in;
  std::string out;
  Clock::time_point last_active;
  bool eof = false;  // nothing more will be read: close once what is asked is answered

  // A whole command within the size limit is waiting to be answered.
  bool has_command() const {
    const auto newline = in.find('\n');
    return newline != std::string::npos && newline <= max_command_bytes;
  }
  // POLLOUT also when a command waits: a connected socket is writable, so the loop
  // comes back at once to answer it.
  short events() const { return out.empty() && !has_command() ? POLLIN : POLLOUT; }
};

ControlServer::ControlServer(std::string path, Handler handler) : path_(std::move(path)), handler_(std::move(handler)) {
  const auto address = address_of(path_);
  const auto directory = std::filesystem::path(path_).parent_path();
  if (!directory.empty()) {
    std::error_code error;
    std::filesystem::create_directories(directory.parent_path(), error);
    ::mkdir(directory.c_str(), 0700);  // exists already: checked below, as a new one is
    // The directory must be ours and writable by nobody else, or whoever owns it could
    // put their own socket in our place. Not a symlink either (lstat).
    struct stat status {};
    if (::lstat(directory.c_str(), &status) != 0 || !S_ISDIR(status.st_mode) ||
        (status.st_uid != ::geteuid() && status.st_uid != 0) || (status.st_mode & 022) != 0) {
      throw std::runtime_error(fmt::format("control socket {}: its directory must be a directory owned by this user "
                                           "(or root) that nobody else may write; pass --control-socket PATH",
                                           path_));
    }
  }
  if (someone_listens(address)) {
    throw std::runtime_error(fmt::format("control socket {}: another supervisor answers there (pass "
                                         "--control-socket PATH to run a second one)",
                                         path_));
  }
  ::unlink(path_.c_str());  // a stale file of a supervisor that died
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener.valid()) throw_system_error("socket(AF_UNIX)", "creating the control socket " + path_);
  // Created 0600 (no window in which another user could connect), then bound.
  const mode_t old_mask = ::umask(0177);
  const int bound = ::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  ::umask(old_mask);
  if (bound != 0) throw_system_error("bind", "creating the control socket " + path_);
  if (::listen(listener.get(), 16) != 0) throw_system_error("listen", "on the control socket " + path_);
  acceptor_.emplace(std::move(listener), max_clients);
}

ControlServer::~ControlServer() {
  ::unlink(path_.c_str());
}

void ControlServer::add_to(std::vector<pollfd>& polled) const {
  acceptor_->add_to(polled, clients_.size());
  for (const auto& client : clients_) {
    polled.push_back(pollfd{client->socket.get(), client->events(), 0});
  }
}

std::optional<ControlServer::Clock::time_point> ControlServer::next_deadline() const {
  return acceptor_->next_deadline(clients_, idle_limit);
}

void ControlServer::handle(const std::vector<pollfd>& polled, Clock::time_point now) {
  for (const auto& entry : polled) {
    if (entry.revents == 0) continue;
    if (entry.fd == acceptor_->fd()) {
      acceptor_->accept_clients(clients_.size(), now,
                                [&](UniqueFd socket) { return take_client(std::move(socket), now); });
      continue;
    }
    for (auto& client : clients_) {
      if (client->socket.get() == entry.fd) serve(*client, entry.revents, now);
    }
  }
  net::PollAcceptor::drop_finished(clients_, now, idle_limit);
}

bool ControlServer::take_client(UniqueFd socket, Clock::time_point now) {
  ucred peer{};
  try {
    peer = net::peer_credentials(socket.get());
  } catch (const std::system_error& error) {
    spdlog::warn("control socket: dropped a client: {}", error.what());
    return false;
  }
  if (peer.uid != 0 && peer.uid != ::geteuid()) {
    // The file's mode keeps others out; this covers a socket reached another way.
    spdlog::warn("control socket: refused a client of uid {}: only root and uid {} may connect", peer.uid,
                 ::geteuid());
    const auto answer = error_answer("permission denied: only root and the service's user may connect");
    [[maybe_unused]] const auto ignored = ::send(socket.get(), answer.data(), answer.size(), MSG_NOSIGNAL);
    return false;
  }
  auto client = std::make_unique<Client>();
  client->socket = std::move(socket);
  client->last_active = now;
  clients_.push_back(std::move(client));
  return true;
}

void ControlServer::serve(Client& client, short revents, Clock::time_point now) {
  client.last_active = now;
  // One command at a time: while an answer waits to be sent, or a whole command waits
  // to be answered, nothing more is read; each turn of the loop answers at most one.
  // A client that pipelines commands, or never reads, costs one answer's memory.
  if (client.out.empty()) {
    if (!client.has_command() && !client.eof && (revents & POLLIN) != 0) {
      char buffer[4096];
      const auto got = ::recv(client.socket.get(), buffer, sizeof buffer, 0);
      if (got == 0) {
        client.eof = true;  // a half-close: what was asked is still answered
      } else if (got < 0 && errno != EAGAIN && errno != EINTR) {
        client.socket = UniqueFd();
        return;
      } else if (got > 0) {
        client.in.append(buffer, static_cast<std::size_t>(got));
      }
    }
    if (client.has_command()) {
      const auto newline = client.in.find('\n');
      const auto line = client.in.substr(0, newline);
      client.in.erase(0, newline + 1);
      try {
        client.out = handler_(line);
      } catch (const std::exception& error) {
        client.out = error_answer(error.what());
      }
    } else if (client.in.size() > max_command_bytes) {
      client.out = error_answer(fmt::format("the command is longer than {} bytes", max_command_bytes));
      client.in.clear();
      client.eof = true;  // nothing more is read from it
    }
  }
  while (!client.out.empty()) {
    const auto sent = ::send(client.socket.get(), client.out.data(), client.out.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      client.socket = UniqueFd();
      return;
    }
    client.out.erase(0, static_cast<std::size_t>(sent));
  }
  if (client.eof && !client.has_command()) client.socket = UniqueFd();
}

}  // namespace corral::control
