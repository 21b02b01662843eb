#pragma once

#include <string>
#include <string_view>

#include "corral/response.hpp"

namespace corral::http {

// Serialises a response at the end of `out`: the responses to pipelined requests
// collect in one buffer and go out in one write. HEAD gets the headers of the answer a
// GET would get, without the body; 1xx, 204 and 304 have neither body nor length.
void write_response(const Response& response, unsigned version, bool keep_alive, bool head_request,
                    std::string_view date, std::string& out);

std::string_view reason_phrase(int status);

}  // namespace corral::http
