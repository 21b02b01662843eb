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
    case 100: return "Continue";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

void write_response(const Response& response, unsigned version, bool keep_alive, bool head_request,
                    std::string_view date, std::string& out) {
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  const int status = response.status();
  append_number(out, static_cast<std::size_t>(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\nServer: corral\r\nDate: ");
  out.append(date);
  const bool bodiless = status < 200 || status == 204 || status == 304;
  if (!bodiless) {
    out.append("\r\nContent-Type: ");
    out.append(response.content_type());
  }
  for (const auto& [name, value] : response.headers()) {
    out.append("\r\n");
    out.append(name);
    out.append(": ");
    out.append(value);
  }
  if (!bodiless) {
    out.append("\r\nContent-Length: ");
    append_number(out, response.body().size());
  }
  // HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes it unless told, but is
  // told anyway, as nginx does, so that no client has to know the default.
  if (!keep_alive) out.append("\r\nConnection: close");
  if (keep_alive && version == 10) out.append("\r\nConnection: keep-alive");
  out.append("\r\n\r\n");
  if (!head_request && !bodiless) out.append(response.body());
}

}  // namespace corral::http
