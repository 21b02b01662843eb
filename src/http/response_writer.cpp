#include "http/response_writer.hpp"

#include <charconv>

namespace corral::http {
namespace {

void append_number(std::string& out, std::size_t value) {
  char digits[24];
  const auto [end, error] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

void write_response(const Response& response, unsigned version, bool keep_alive, bool head_request,
                    std::string_view date, std::string& out) {
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_number(out, static_cast<std::size_t>(response.status));
  out.push_back(' ');
  out.append(reason_phrase(response.status));
  out.append("\r\nServer: corral\r\nDate: ");
  out.append(date);
  out.append("\r\nContent-Type: ");
  out.append(response.content_type);
  for (const auto& [name, value] : response.headers) {
    out.append("\r\n");
    out.append(name);
    out.append(": ");
    out.append(value);
  }
  out.append("\r\nContent-Length: ");
  append_number(out, response.body.size());
  // HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes it unless told.
  if (!keep_alive && version >= 11) out.append("\r\nConnection: close");
  if (keep_alive && version == 10) out.append("\r\nConnection: keep-alive");
  out.append("\r\n\r\n");
  if (!head_request) out.append(response.body);
}

}  // namespace corral::http
