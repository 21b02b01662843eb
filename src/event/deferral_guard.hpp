#pragma once

#include <memory>
#include <utility>

namespace corral {

// For an object that defers work (EventLoop::defer or when_idle) and may be
// destroyed before that work runs: what it wraps is dropped then. A member of that
// object; not copied, since a copy would answer for the wrong object.
class DeferralGuard {
 public:
  DeferralGuard() = default;
  DeferralGuard(const DeferralGuard&) = delete;
  DeferralGuard& operator=(const DeferralGuard&) = delete;

  template <class Work>
  auto wrap(Work work) const {
    return [alive = std::weak_ptr<const int>(alive_), work = std::move(work)]() mutable {
      if (!alive.expired()) work();
    };
  }

 private:
  std::shared_ptr<const int> alive_ = std::make_shared<const int>(0);
};

}  // namespace corral
