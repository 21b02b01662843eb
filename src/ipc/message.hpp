#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace corral::ipc {

enum class Kind : std::uint8_t {
  // worker -> supervisor
  ready = 1,           // accepting now; value = requests served so far
  heartbeat = 2,       // alive; value = requests served so far
  suicide_notice = 3,  // replace me now; I stop accepting and exit once drained; value = requests so far
  // supervisor -> worker
  drain = 16,          // stop accepting, finish in-flight work, exit 0; value = deadline in ms
};

std::string_view to_string(Kind kind);

// One message is one SOCK_SEQPACKET datagram of exactly this layout, so there is no
// framing, and a message can be built in advance and sent from a signal handler.
struct Message {
  static constexpr std::uint32_t magic_value = 0x4c524f43;  // "CORL"
  static constexpr std::uint16_t version_value = 1;
  static constexpr std::size_t reason_capacity = 240;

  std::uint32_t magic = magic_value;
  std::uint16_t version = version_value;
  Kind kind = Kind::heartbeat;
  std::uint8_t reserved = 0;
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  std::uint64_t value = 0;
  std::array<char, reason_capacity> reason{};  // NUL-terminated, suicide notices only

  static Message ready(std::uint32_t slot, std::uint32_t generation, std::uint64_t requests);
  static Message heartbeat(std::uint32_t slot, std::uint32_t generation, std::uint64_t requests);
  // The reason is cut to fit; it never fails.
  static Message suicide_notice(std::uint32_t slot, std::uint32_t generation, std::string_view reason,
                                std::uint64_t requests = 0);
  static Message drain(std::uint64_t deadline_ms);

  std::string_view reason_text() const;
};

// Checks size, magic, version, kind and the reason's terminator. nullopt means the
// datagram is not a corral message of this version.
std::optional<Message> decode(std::span<const std::byte> datagram);

}  // namespace corral::ipc
