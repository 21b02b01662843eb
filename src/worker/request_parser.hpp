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
//
// Beast does not enforce RFC 9112's framing rules (it ignores a Transfer-Encoding
// whose last coding is not chunked and frames the body by Content-Length instead, and
// it accepts obs-fold), so the parser checks them itself before any body byte is
// trusted: Transfer-Encoding (§6.1: 501 for a coding corral does not implement, 400
// for chunked not last or twice, 400 in HTTP/1.0), Host (§3.2: one valid
// uri-host[:port]) and obs-fold (§5.2: 400). A request refused this way ends the
// connection, so nothing after it is read as a request.
class RequestParser : public boost::beast::http::basic_parser<true> {
 public:
  RequestParser(const HttpLimits& limits, Request& request);

  // Parses what `bytes` holds of this request (Beast's put(), plus the checks above);
  // returns the bytes used. `error` is need_more, a Beast error, or bad_value for a
  // refused request (rejection_status() then says with what).
  std::size_t feed(std::string_view bytes, boost::beast::error_code& error);
  // The status a framing or Host check refused the request with; 0 if none did.
  int rejection_status() const { return rejection_status_; }
  // The request asked for "Expect: 100-continue".
  bool expects_continue() const { return expects_continue_; }

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
  void refuse(int status, boost::beast::error_code& error);
  static bool folded_line_in(std::string_view taken, bool continues_header);

  unsigned version_ = 11;
  unsigned host_fields_ = 0;
  int rejection_status_ = 0;
  bool expects_continue_ = false;
  bool request_line_seen_ = false;         // Beast has reported the request line
  bool request_line_seen_before_ = false;  // ... before the current feed()
  bool transfer_encoding_seen_ = false;
  std::string transfer_codings_;  // every Transfer-Encoding field, joined by commas
};

// The status a parse error is answered with (a refused request's own status first).
int status_for_parse_error(const RequestParser& parser, const boost::beast::error_code& error);

}  // namespace corral
