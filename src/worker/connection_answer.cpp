// Answering: a whole request to its handler, and what goes back (the handler's answer,
// 100 Continue, a refusal), queued in order and sent in one write.
#include <sys/socket.h>

#include <boost/beast/http/verb.hpp>

#include "http/request_access.hpp"
#include "http/response_access.hpp"
#include "http/response_writer.hpp"
#include "worker/connection_detail.hpp"

namespace corral {

namespace bhttp = boost::beast::http;
using connection_detail::would_block;

void Connection::handle_request() {
  const RequestParser& parser = *parser_;
  version_ = parser.version();
  head_request_ = parser.verb() == bhttp::verb::head;
  request_deadline_set_ = false;
  clear_deadline();
  if (!parser.keep_alive()) client_ends_ = true;
  if (client_ends_ || environment_.limits.keepalive_timeout.count() == 0) close_after_response_ = true;

  const auto hosts = parser.host_fields();
  if ((version_ >= 11 && hosts == 0) || hosts > 1) {
    reject(400, hosts == 0 ? "Bad Request: HTTP/1.1 needs a Host header\n" : "Bad Request: more than one Host header\n");
    return;
  }
  parser_.reset();

  detail::ResponseAccess::reset(response_);
  detail::ResponseAccess::set_deferrer(response_, this);
  handler_running_ = true;
  try {
    owner_.serve(request_, response_);
  } catch (const std::exception& exception) {
    if (!detail::ResponseAccess::produced(response_)) response_.text(500, "Internal Server Error\n");
    owner_.on_handler_exception(exception.what());
  } catch (...) {
    if (!detail::ResponseAccess::produced(response_)) response_.text(500, "Internal Server Error\n");
    owner_.on_handler_exception("an exception that is not a std::exception");
  }
  handler_running_ = false;
  detail::ResponseAccess::set_deferrer(response_, nullptr);

  if (pending_ != nullptr) {
    phase_ = Phase::deferred;
    return;
  }
  if (early_answer_) {
    respond(*early_answer_);
    early_answer_.reset();
    return;
  }
  if (std::exchange(abandoned_in_handler_, false) && !detail::ResponseAccess::produced(response_)) {
    response_.text(500, "Internal Server Error: the handler never answered\n");
  }
  respond(response_);
}

void Connection::answer_expectation() {
  expectation_answered_ = true;
  version_ = parser_->version();
  detail::ResponseAccess::reset(response_);
  if (owner_.refuse_unrouted(request_, response_)) {
    refuse_request();
    return;
  }
  // RFC 9110 §10.1.1: an interim answer; the final one follows the body. The client
  // waits for it before sending the body, so the body has the request timeout from
  // here (and again once the 100 is sent, if it has to wait: see advance_until_waiting).
  out_.append("HTTP/1.1 100 Continue\r\n\r\n");
  request_deadline_set_ = true;
  environment_.deadlines.request.set(*this);
}

void Connection::refuse_request() {
  close_after_response_ = true;
  linger_ = true;  // the rest of the request may still be on its way
  head_request_ = false;
  parser_.reset();
  request_deadline_set_ = false;
  clear_deadline();
  phase_ = Phase::reading;
  respond(response_);
}

void Connection::respond(const Response& response) {
  if (owner_.draining()) close_after_response_ = true;
  const auto queued = out_.size();
  http::write_response(response, version_, !close_after_response_, head_request_, environment_.date.now(), out_);
  // Read now, not the wake-up time: a handler that computed for 50 ms took 50 ms.
  owner_.on_response(request_, response.status(), out_.size() - queued, EventLoop::Clock::now() - request_started_);
  if (close_after_response_) last_response_ = true;
}

void Connection::reject(int status, std::string_view body) {
  detail::ResponseAccess::reset(response_);
  if (body.empty()) {
    response_.text(status, std::string(http::reason_phrase(status)) + "\n");
  } else {
    response_.text(status, body);
  }
  refuse_request();
}

bool Connection::flush() {
  if (ring_ != nullptr) return flush_through_ring();
  if (!writable_) return false;
  while (sent_ < out_.size()) {
    const ssize_t written = ::send(socket_.get(), out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
    if (written < 0) {
      if (would_block(errno)) {
        writable_ = false;
      } else if (errno != EINTR) {
        close();  // the peer is gone
      }
      if (phase_ == Phase::closed || !writable_) return false;
      continue;
    }
    sent_ += static_cast<std::size_t>(written);
  }
  out_.clear();
  sent_ = 0;
  return true;
}

}  // namespace corral
