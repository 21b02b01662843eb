#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/basic_parser.hpp>

#include "config/settings.hpp"

namespace corral {

// Beast's HTTP/1 request parser, keeping only what the worker acts on: the request
// line, how many Host fields came, and keep-alive. The body is checked against its
// limit and dropped (no route reads one), so parsing a request allocates nothing
// beyond a target too long for the string's inline buffer.
class RequestParser : public boost::beast::http::basic_parser<true> {
 public:
  explicit RequestParser(const HttpLimits& limits);

  boost::beast::http::verb verb() const { return verb_; }
  std::string_view method() const { return method_; }
  std::string_view target() const { return target_; }
  unsigned version() const { return version_; }
  unsigned host_fields() const { return host_fields_; }

 private:
  void on_request_impl(boost::beast::http::verb method, boost::beast::string_view method_string,
                       boost::beast::string_view target, int version, boost::beast::error_code& error) override;
  void on_response_impl(int, boost::beast::string_view, int, boost::beast::error_code&) override {}
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& error) override;
  void on_header_impl(boost::beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, boost::beast::error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code&) override {
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, boost::beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body, boost::beast::error_code&) override {
    return body.size();
  }
  void on_finish_impl(boost::beast::error_code&) override {}

  boost::beast::http::verb verb_ = boost::beast::http::verb::unknown;
  // Copies: the parser's views point into a read buffer that a later read of the same
  // request (a body) may overwrite.
  std::string method_;
  std::string target_;
  unsigned version_ = 11;
  unsigned host_fields_ = 0;
};

// The status a parse error is answered with.
int status_for_parse_error(const boost::beast::error_code& error);

}  // namespace corral
