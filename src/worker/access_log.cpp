#include "worker/access_log.hpp"

#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <array>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/request_access.hpp"

namespace corral {
namespace {

iovec field(const std::string& text) {
  return iovec{const_cast<char*>(text.data()), text.size()};
}

}  // namespace

AccessLog::AccessLog(unsigned rate_per_second, bool to_journal, const std::string& program, unsigned slot,
                     std::uint32_t generation)
    : bucket_(rate_per_second),
      to_journal_(to_journal),
      identifier_field_("SYSLOG_IDENTIFIER=" + program),
      slot_field_(fmt::format("CORRAL_SLOT={}", slot)),
      generation_field_(fmt::format("CORRAL_GENERATION={}", generation)) {}

void AccessLog::record(const Request& request, int status, std::uint64_t bytes, Clock::duration duration,
                       Clock::time_point now) {
  report_dropped(now);
  if (!bucket_.take(now)) {
    if (dropped_ == 0) next_report_ = now + std::chrono::seconds(1);
    ++dropped_;
    ++dropped_total_;
    return;
  }
  write(request, status, bytes, duration);
}

void AccessLog::report_dropped(Clock::time_point now) {
  if (dropped_ == 0 || now < next_report_) return;
  spdlog::warn("access log: {} entries over the limit of --access-log-rate were not written", dropped_);
  dropped_ = 0;
}

void AccessLog::write(const Request& request, int status, std::uint64_t bytes, Clock::duration duration) {
  // The path as sent (not decoded): it cannot hold a control character, and journal
  // fields are length-delimited, so an entry cannot be forged by a request.
  const auto method = request.method().empty() ? std::string_view("-") : request.method();
  auto path = detail::RequestAccess::raw_path(request);
  if (path.empty()) path = "-";
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
  const auto& peer = request.peer();
  const auto peer_text = peer.address.empty() ? std::string("-") : peer.address;
  if (!to_journal_) {
    // Quoted and escaped: a target may hold '"' or bytes above 0x7f.
    spdlog::info("access: {} {:?} {} {} {:.3f} ms", peer_text, fmt::format("{} {}", method, path), status, bytes,
                 static_cast<double>(micros) / 1000.0);
    return;
  }
  const std::array<std::string, 12> fields{
      fmt::format("MESSAGE={} {} {} {} B {:.3f} ms {}", method, path, status, bytes,
                  static_cast<double>(micros) / 1000.0, peer_text),
      fmt::format("PRIORITY={}", LOG_INFO),
      identifier_field_,
      "CORRAL_ROLE=worker",
      slot_field_,
      generation_field_,
      fmt::format("CORRAL_METHOD={}", method),
      fmt::format("CORRAL_PATH={}", path),
      fmt::format("CORRAL_STATUS={}", status),
      fmt::format("CORRAL_DURATION_US={}", micros),
      fmt::format("CORRAL_BYTES={}", bytes),
      fmt::format("CORRAL_PEER={}", peer_text),
  };
  std::array<iovec, fields.size()> vector{};
  for (std::size_t i = 0; i < fields.size(); ++i) vector[i] = field(fields[i]);
  sd_journal_sendv(vector.data(), static_cast<int>(vector.size()));
}

}  // namespace corral
