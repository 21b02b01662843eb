#pragma once

#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>

#include "common/logging.hpp"

namespace corral {

// Writes each line to the journal with its native protocol (sd_journal_send), so that
// every line carries the real sender's _PID (a worker shows as corral[<worker pid>])
// and its priority, plus CORRAL_ROLE, CORRAL_SLOT and CORRAL_GENERATION to filter on:
// journalctl -u corral CORRAL_ROLE=worker. spdlog's own systemd sink sends no custom
// fields. Locked: a worker's task threads log beside its event loop.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JournalSink(const LogIdentity& identity);

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override;
  void flush_() override {}

 private:
  std::string identifier_field_;
  std::string role_field_;
  std::string slot_field_;
  std::string generation_field_;
};

// True when stderr is the journal's stream for this service ($JOURNAL_STREAM names
// stderr's device and inode), i.e. systemd started us with StandardError=journal.
bool stderr_is_journal();

}  // namespace corral
