#pragma once

#include <functional>
#include <list>
#include <string>

#include "corral/loop.hpp"
#include "event/event_loop.hpp"

namespace corral {

// corral::Loop for handlers, on the worker's event loop. A callback that throws is
// reported like a handler that throws.
class HandlerLoop final : public Loop {
 public:
  HandlerLoop(EventLoop& loop, std::function<void(const std::string&)> on_exception)
      : loop_(loop), on_exception_(std::move(on_exception)) {}

  void after(std::chrono::milliseconds delay, std::function<void()> callback) override;

 private:
  EventLoop& loop_;
  std::function<void(const std::string&)> on_exception_;
  std::list<Timer> timers_;  // armed ones; each removes itself when it fires
};

}  // namespace corral
