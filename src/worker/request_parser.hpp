#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/basic_parser.hpp>

#include "config/settings.hpp"
#include "corral/request.hpp"

namespace corral {

// Beast's HTTP/1 request parser, writing into a corral::Request: the request line and
// fields are copied into the request's own storage as Beast reports them (Beast's
// views point into a read buffer that the next read overwrites), and the body, whether
// Content-Length or chunked, is appended to the request's body within the body limit.
class RequestParser : public boost::beast::http::basic_parser<true> {
 public:
  RequestParser(const HttpLimits& limits, Request& request);

  boost::beast::http::verb verb() const { return verb_; }
  unsigned version() const { return version_; }
  unsigned host_fields() const { return host_fields_; }

 private:
  void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_string,
                       boost::beast::string_view target, int version, boost::beast::error_code& error) override;
  void on_response_impl(int, boost::beast::string_view, int, boost::beast::error_code&) override {}
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& error) override;
  void on_header_impl(boost::beast::error_code& error) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, boost::beast::error_code&) override;
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code&) override;
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, boost::beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body, boost::beast::error_code&) override;
  void on_finish_impl(boost::beast::error_code&) override {}

  Request& request_;
  std::size_t body_limit_;
  boost::beast::http::verb verb_ = boost::beast::http::verb::unknown;
  unsigned version_ = 11;
  unsigned host_fields_ = 0;
};

// The status a parse error is answered with.
int status_for_parse_error(const boost::beast::error_code& error);

}  // namespace corral
