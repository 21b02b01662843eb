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
    case Kind::drain: return "drain";
  }
  return "unknown";
}

namespace {

bool is_known(Kind kind) {
  switch (kind) {
    case Kind::ready:
    case Kind::heartbeat:
    case Kind::suicide_notice:
    case Kind::drain:
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

Message Message::suicide_notice(std::uint32_t slot, std::uint32_t generation, std::string_view reason,
                                std::uint64_t requests) {
  auto message = make(Kind::suicide_notice, slot, generation, requests);
  const auto length = std::min(reason.size(), reason_capacity - 1);
  std::memcpy(message.reason.data(), reason.data(), length);
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
