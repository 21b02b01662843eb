#pragma once

#include <chrono>
#include <functional>

namespace corral {

// A worker's event loop, as handlers see it: one thread, so callbacks never run at the
// same time as a handler or each other, and need no locks. A callback that throws is
// treated like a handler that throws (the worker is replaced).
class Loop {
 public:
  // Runs `callback` on this loop once `delay` has passed, unless the worker exits
  // first (a drain waits for deferred answers, not for timers).
  virtual void after(std::chrono::milliseconds delay, std::function<void()> callback) = 0;

 protected:
  ~Loop() = default;
};

}  // namespace corral
