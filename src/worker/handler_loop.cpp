#include "worker/handler_loop.hpp"

#include <exception>

namespace corral {

void HandlerLoop::after(std::chrono::milliseconds delay, std::function<void()> callback) {
  auto& timer = timers_.emplace_back(loop_);
  timer.expires_after(delay, [this, entry = std::prev(timers_.end()), callback = std::move(callback)] {
    // The timer is erased only after its callback: the callback object lives in it.
    loop_.defer([this, entry] { timers_.erase(entry); });
    try {
      callback();
    } catch (const std::exception& error) {
      on_exception_(error.what());
    } catch (...) {
      on_exception_("an exception that is not a std::exception");
    }
  });
}

}  // namespace corral
