// Answers that come later: a handler keeps its Responder, the connection waits (its
// later requests wait their turn), and either side may end first.
#include "http/response_access.hpp"
#include "worker/connection_detail.hpp"

namespace corral {

std::shared_ptr<detail::PendingAnswer> Connection::defer() {
  if (!handler_running_ || pending_ != nullptr) {
    throw std::logic_error("corral::Response::defer: the request is not in a handler, or deferred already");
  }
  auto pending = std::make_shared<Pending>(*this);
  pending_ = pending.get();
  return pending;
}

void Connection::on_deferred_answer(Response&& response) {
  pending_ = nullptr;
  if (handler_running_) {
    early_answer_.emplace(std::move(response));
    return;
  }
  respond(response);
  resume_after_deferred();
}

void Connection::on_deferred_abandoned() {
  pending_ = nullptr;
  if (handler_running_) {
    // Dropped inside its handler (or unwound by its exception): the handler's own
    // answer, or the 500 of an exception, is the answer.
    abandoned_in_handler_ = true;
    return;
  }
  try {
    Response failure;
    failure.text(500, "Internal Server Error: the handler never answered\n");
    respond(failure);
    resume_after_deferred();
  } catch (...) {
    close();  // out of memory for even this: the client sees the connection end
  }
}

void Connection::resume_after_deferred() {
  phase_ = Phase::reading;
  // Not now: this runs in some other code's callback (a timer, another connection's
  // handler), and reading now could reuse the worker's read buffer under a request
  // that is still being parsed. The connection goes on once this wake-up's work is done.
  environment_.loop.defer([this] { advance(); });
}

}  // namespace corral
