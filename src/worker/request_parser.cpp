#include "worker/request_parser.hpp"

#include <algorithm>

#include <boost/beast/http/error.hpp>

#include "http/request_access.hpp"

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

void RequestParser::on_request_impl(bhttp::verb method, boost::beast::string_view method_string,
                                    boost::beast::string_view target, int version, boost::beast::error_code&) {
  verb_ = method;
  version_ = static_cast<unsigned>(version);
  RequestAccess::set_request_line(request_, view(method_string), view(target), version_ % 10);
}

void RequestParser::on_field_impl(bhttp::field name, boost::beast::string_view name_string,
                                  boost::beast::string_view value, boost::beast::error_code&) {
  if (name == bhttp::field::host) ++host_fields_;
  RequestAccess::add_field(request_, view(name_string), view(value));
}

void RequestParser::on_header_impl(boost::beast::error_code&) {
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

int status_for_parse_error(const boost::beast::error_code& error) {
  if (error == bhttp::error::header_limit) return 431;
  if (error == bhttp::error::body_limit) return 413;
  return 400;
}

}  // namespace corral
