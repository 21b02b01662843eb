#include "worker/request_parser.hpp"

#include <algorithm>

#include <boost/beast/http/error.hpp>

#include <boost/asio/buffer.hpp>

#include "http/host.hpp"
#include "http/request_access.hpp"
#include "http/url.hpp"

namespace corral {

namespace bhttp = boost::beast::http;
using detail::RequestAccess;

namespace {

std::string_view view(boost::beast::string_view text) {
  return {text.data(), text.size()};
}

}  // namespace

RequestParser::RequestParser(const HttpLimits& limits, Request& request)
    : request_(request), body_limit_(limits.max_body_bytes) {
  header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  body_limit(limits.max_body_bytes);
  // The body is parsed in the same call as the header when it is there already.
  eager(true);
}

// Beast commits header lines as they complete, each only once it has seen the
// character after its CRLF: a folded line (CRLF, then a space or tab) is always inside
// the bytes of one call. One pass over what the call took, up to the header's end
// (an empty line), looking at the character after each line feed.
bool RequestParser::folded_line_in(std::string_view taken, bool continues_header) {
  std::size_t at = 0;
  if (continues_header && taken.starts_with("\r\n")) return false;  // the header's empty last line
  while ((at = taken.find('\n', at)) != std::string_view::npos && ++at < taken.size()) {
    const char next = taken[at];
    if (next == ' ' || next == '\t') return true;
    if (next == '\r') return false;  // the empty line: the body follows
  }
  return false;
}

std::size_t RequestParser::feed(std::string_view bytes, boost::beast::error_code& error) {
  const bool header_pending = !is_header_done();
  const auto used = put(boost::asio::const_buffer(bytes.data(), bytes.size()), error);
  if (header_pending && rejection_status_ == 0 && (!error || error == bhttp::error::need_more) &&
      folded_line_in(bytes.substr(0, used), request_line_seen_before_)) {
    refuse(400, error);
  }
  request_line_seen_before_ = request_line_seen_;
  return used;
}

void RequestParser::refuse(int status, boost::beast::error_code& error) {
  if (rejection_status_ == 0) rejection_status_ = status;
  error = bhttp::error::bad_value;
}

void RequestParser::on_request_impl(bhttp::verb method, boost::beast::string_view method_string,
                                    boost::beast::string_view target, int version, boost::beast::error_code&) {
  verb_ = method;
  request_line_seen_ = true;
  version_ = static_cast<unsigned>(version);  // 10 or 11: Beast refuses any other
  RequestAccess::set_request_line(request_, view(method_string), view(target), version_ % 10);
}

void RequestParser::on_field_impl(bhttp::field name, boost::beast::string_view name_string,
                                  boost::beast::string_view value, boost::beast::error_code& error) {
  // Fields after a chunked body (trailers) are dropped: they may not change framing or
  // routing (RFC 9112 §7.1.2), and the request's fields are complete and in use.
  if (is_header_done()) return;
  switch (name) {
    case bhttp::field::host:
      ++host_fields_;
      if (!http::valid_host(view(value))) return refuse(400, error);
      break;
    case bhttp::field::transfer_encoding:
      // Repeated fields are one list (RFC 9110 §5.3).
      if (transfer_encoding_seen_) transfer_codings_.push_back(',');
      transfer_encoding_seen_ = true;
      transfer_codings_.append(value.data(), value.size());
      break;
    case bhttp::field::expect:
      if (http::iequals(view(value), "100-continue")) expects_continue_ = true;
      break;
    default:
      break;
  }
  RequestAccess::add_field(request_, view(name_string), view(value));
}

void RequestParser::on_header_impl(boost::beast::error_code& error) {
  if (transfer_encoding_seen_) {
    // HTTP/1.0 has no Transfer-Encoding: its framing would be a guess (§6.1).
    if (version_ < 11) return refuse(400, error);
    if (const int status = http::transfer_coding_status(transfer_codings_)) return refuse(status, error);
  }
  if (version_ < 11) expects_continue_ = false;
  RequestAccess::finish_head(request_);
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      boost::beast::error_code&) {
  // Beast has checked the length against the limit already.
  if (content_length) RequestAccess::body(request_).reserve(std::min<std::uint64_t>(*content_length, body_limit_));
}

std::size_t RequestParser::on_body_impl(boost::beast::string_view body, boost::beast::error_code&) {
  RequestAccess::body(request_).append(body.data(), body.size());
  return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                              boost::beast::error_code&) {
  RequestAccess::body(request_).append(body.data(), body.size());
  return body.size();
}

int status_for_parse_error(const RequestParser& parser, const boost::beast::error_code& error) {
  if (parser.rejection_status() != 0) return parser.rejection_status();
  if (error == bhttp::error::header_limit) return 431;
  if (error == bhttp::error::body_limit) return 413;
  return 400;
}

}  // namespace corral
