#include "ipc/message.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace corral::ipc {

static_assert(std::is_trivially_copyable_v<Message>);

std::string_view to_string(Kind kind) {
  switch (kind) {
    case Kind::ready: return "ready";
    case Kind::heartbeat: return "heartbeat";
    case Kind::suicide_notice: return "suicide notice";
    case Kind::task_started: return "task started";
    case Kind::task_ended: return "task ended";
    case Kind::drain: return "drain";
    case Kind::run_task: return "run task";
  }
  return "unknown";
}

namespace {

bool is_known(Kind kind) {
  switch (kind) {
    case Kind::ready:
    case Kind::heartbeat:
    case Kind::suicide_notice:
    case Kind::task_started:
    case Kind::task_ended:
    case Kind::drain:
    case Kind::run_task:
      return true;
  }
  return false;
}

Message make(Kind kind, std::uint32_t slot, std::uint32_t generation, std::uint64_t value) {
  Message message;
  message.kind = kind;
  message.slot = slot;
  message.generation = generation;
  message.value = value;
  return message;
}

}  // namespace

Message Message::ready(std::uint32_t slot, std::uint32_t generation, std::uint64_t requests) {
  return make(Kind::ready, slot, generation, requests);
}

Message Message::heartbeat(std::uint32_t slot, std::uint32_t generation, std::uint64_t requests) {
  return make(Kind::heartbeat, slot, generation, requests);
}

static void set_reason(Message& message, std::string_view text) {
  const auto length = std::min(text.size(), Message::reason_capacity - 1);
  std::memcpy(message.reason.data(), text.data(), length);
}

Message Message::suicide_notice(std::uint32_t slot, std::uint32_t generation, std::string_view reason,
                                std::uint64_t requests) {
  auto message = make(Kind::suicide_notice, slot, generation, requests);
  set_reason(message, reason);
  return message;
}

Message Message::run_task(std::string_view name, std::uint64_t scheduled_ms, const TaskFields& fields) {
  auto message = make(Kind::run_task, 0, 0, scheduled_ms);
  set_reason(message, name);
  message.task = fields;
  return message;
}

Message Message::task_started(std::uint32_t slot, std::uint32_t generation, std::uint64_t run,
                              std::uint64_t started_us) {
  auto message = make(Kind::task_started, slot, generation, started_us);
  message.task.run = run;
  return message;
}

Message Message::task_ended(std::uint32_t slot, std::uint32_t generation, std::uint64_t run, TaskEnd end,
                            std::uint64_t duration_us, std::string_view error) {
  auto message = make(Kind::task_ended, slot, generation, static_cast<std::uint64_t>(end));
  message.task.run = run;
  message.task.duration_us = duration_us;
  set_reason(message, error);
  return message;
}

Message Message::drain(std::uint64_t deadline_ms) {
  return make(Kind::drain, 0, 0, deadline_ms);
}

std::string_view Message::reason_text() const {
  return {reason.data(), ::strnlen(reason.data(), reason.size())};
}

std::optional<Message> decode(std::span<const std::byte> datagram) {
  if (datagram.size() != sizeof(Message)) return std::nullopt;
  Message message;
  std::memcpy(&message, datagram.data(), sizeof message);
  if (message.magic != Message::magic_value || message.version != Message::version_value ||
      !is_known(message.kind) || message.reason.back() != '\0') {
    return std::nullopt;
  }
  return message;
}

}  // namespace corral::ipc
