#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace corral::detail {

// Why a store operation did not happen.
struct StoreFailure {
  enum class Kind {
    unavailable,  // the store cannot answer now (down, locked, full): 503, try again
    misuse,       // the operation itself is wrong (increment of a non-integer): 500
  };
  Kind kind = Kind::unavailable;
  std::string message;  // names the failing call and what was attempted
  std::chrono::seconds retry_after{1};
};

// A store operation's result: a value or a failure.
template <class T>
class Outcome {
 public:
  Outcome(T value) : result_(std::move(value)) {}  // NOLINT: an outcome is its value
  Outcome(StoreFailure failure) : result_(std::move(failure)) {}  // NOLINT

  bool ok() const noexcept { return result_.index() == 0; }
  T& value() { return std::get<0>(result_); }
  const StoreFailure& failure() const { return std::get<1>(result_); }

 private:
  std::variant<T, StoreFailure> result_;
};

struct Done {};

}  // namespace corral::detail
