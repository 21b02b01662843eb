#include "common/journal_sink.hpp"

#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace corral {
namespace {

int syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return LOG_DEBUG;
    case spdlog::level::info: return LOG_INFO;
    case spdlog::level::warn: return LOG_WARNING;
    case spdlog::level::err: return LOG_ERR;
    case spdlog::level::critical: return LOG_CRIT;
    default: return LOG_INFO;
  }
}

}  // namespace

JournalSink::JournalSink(const LogIdentity& identity)
    : identifier_field_("SYSLOG_IDENTIFIER=" + identity.program),
      role_field_("CORRAL_ROLE=" + identity.role),
      slot_field_(identity.slot >= 0 ? fmt::format("CORRAL_SLOT={}", identity.slot) : std::string{}),
      generation_field_(identity.slot >= 0 ? fmt::format("CORRAL_GENERATION={}", identity.generation) : std::string{}) {
}

void JournalSink::sink_it_(const spdlog::details::log_msg& message) {
  spdlog::memory_buf_t text;
  formatter_->format(message, text);
  auto length = text.size();
  while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r')) --length;
  const auto priority = fmt::format("PRIORITY={}", syslog_priority(message.level));
  // The supervisor has no slot or generation: its field list is shorter.
  if (slot_field_.empty()) {
    sd_journal_send("MESSAGE=%.*s", static_cast<int>(length), text.data(), priority.c_str(),
                    identifier_field_.c_str(), role_field_.c_str(), nullptr);
  } else {
    sd_journal_send("MESSAGE=%.*s", static_cast<int>(length), text.data(), priority.c_str(),
                    identifier_field_.c_str(), role_field_.c_str(), slot_field_.c_str(),
                    generation_field_.c_str(), nullptr);
  }
}

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long device = 0;
  unsigned long long inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat status {};
  if (::fstat(STDERR_FILENO, &status) != 0) return false;
  return status.st_dev == device && status.st_ino == inode;
}

}  // namespace corral
