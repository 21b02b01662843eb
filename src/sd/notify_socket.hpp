#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/unique_fd.hpp"

namespace corral::sd {

// The datagram socket an app worker's $NOTIFY_SOCKET names: one per worker, so that
// anything the worker starts (systemd-notify, a helper process) speaks for it. Bound
// in the abstract namespace ("@corral/..."), which sd_notify(3) and its ports in
// other languages accept, so there is no file to clean up. Only datagrams from root or
// from corral's own user are read (SO_PASSCRED), as a 0700 directory would allow.
class NotifySocket {
 public:
  // Binds "@corral/<supervisor pid>/<name>". Throws std::system_error naming the call.
  static NotifySocket open(const std::string& name);

  NotifySocket() = default;
  int fd() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  // The value for $NOTIFY_SOCKET ('@' for the abstract namespace's leading NUL).
  const std::string& address() const { return address_; }

  struct Datagram {
    std::string text;
    pid_t sender = 0;
  };
  enum class Result { datagram, nothing, refused };
  // Non-blocking: one datagram, if one is waiting. `refused`: it came from another
  // user and was dropped (`out.sender` says who).
  Result receive(Datagram& out) const;

 private:
  UniqueFd fd_;
  std::string address_;
};

}  // namespace corral::sd
