#pragma once

#include <string_view>

namespace corral::http {

// A Host field value is `uri-host [ ":" port ]` (RFC 9112 §3.2, RFC 3986 §3.2.2):
// an IP-literal in brackets, or a reg-name/IPv4 of unreserved characters, escapes and
// sub-delims, then digits after a colon. Empty is allowed (a target without
// authority). Anything else ("a b", "a/b", "u@a", "a:b") is a 400.
bool valid_host(std::string_view host);

// The codings of a Transfer-Encoding field list, checked as RFC 9112 §6.1 asks of a
// server: `chunked` once and last is fine (0); a coding corral does not implement is
// 501; `chunked` not last, twice, or no coding at all is 400. Empty list members
// (", chunked") are skipped, as RFC 9110 §5.6.1 asks of a recipient.
int transfer_coding_status(std::string_view codings);

}  // namespace corral::http
