#include "common/logging.hpp"

#include <memory>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "common/journal_sink.hpp"

namespace corral {

void init_logging(const LogIdentity& identity, spdlog::level::level_enum level) {
  const auto name = identity.slot >= 0 ? fmt::format("{} {}", identity.role, identity.slot) : identity.role;
  std::shared_ptr<spdlog::logger> logger;
  if (stderr_is_journal()) {
    // The journal adds time, host and pid itself.
    logger = std::make_shared<spdlog::logger>(name, std::make_shared<JournalSink>(identity));
    logger->set_pattern("%n: %v");
  } else {
    // Locked (_mt): a worker's task threads log beside its event loop.
    logger = std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%P] %n: %v");
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace corral
