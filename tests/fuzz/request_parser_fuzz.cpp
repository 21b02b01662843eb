// libFuzzer target: the request parser on arbitrary bytes, fed in arbitrary pieces as
// a connection feeds it (what was not used is kept and the next piece appended).
// Invariants: no crash, leak or undefined behaviour (ASan, UBSan); a body within its
// limit; a refused request's status is one corral sends.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/beast/http/error.hpp>

#include "worker/request_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  corral::HttpLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_body_bytes = 512;
  corral::Request request;
  corral::RequestParser parser(limits, request);
  std::string pending;
  while (input.remaining_bytes() > 0) {
    pending += input.ConsumeBytesAsString(input.ConsumeIntegralInRange<std::size_t>(1, 64));
    boost::beast::error_code error;
    const auto used = parser.feed(pending, error);
    if (used > pending.size()) std::abort();
    pending.erase(0, used);
    if (error && error != boost::beast::http::error::need_more) {
      const int status = corral::status_for_parse_error(parser, error);
      if (status != 400 && status != 413 && status != 431 && status != 501 && status != 505) std::abort();
      return 0;
    }
    if (parser.is_done()) {
      if (request.body().size() > limits.max_body_bytes) std::abort();
      // What the worker hands a handler must be readable.
      (void)request.path();
      (void)request.query_parameters();
      (void)request.cookie("sid");
      (void)request.form("user");
      return 0;
    }
  }
  return 0;
}
