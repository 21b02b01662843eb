#include "worker/request_parser.hpp"

#include <boost/beast/http/error.hpp>

namespace corral {

namespace bhttp = boost::beast::http;

RequestParser::RequestParser(const HttpLimits& limits) {
  header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  body_limit(limits.max_body_bytes);
  // The body is parsed in the same call as the header when it is there already.
  eager(true);
}

void RequestParser::on_request_impl(bhttp::verb method, boost::beast::string_view method_string,
                                    boost::beast::string_view target, int version, boost::beast::error_code&) {
  verb_ = method;
  method_.assign(method_string.data(), method_string.size());
  target_.assign(target.data(), target.size());
  version_ = static_cast<unsigned>(version);
}

void RequestParser::on_field_impl(bhttp::field name, boost::beast::string_view, boost::beast::string_view,
                                  boost::beast::error_code&) {
  if (name == bhttp::field::host) ++host_fields_;
}

int status_for_parse_error(const boost::beast::error_code& error) {
  if (error == bhttp::error::header_limit) return 431;
  if (error == bhttp::error::body_limit) return 413;
  return 400;
}

}  // namespace corral
