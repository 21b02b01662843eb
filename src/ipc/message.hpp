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
  task_started = 4,    // task.run began (after its lock, if any); value = when, in µs since the epoch
  task_ended = 5,      // task.run ended; value = TaskEnd; task.duration_us; reason = the error, if failed
  // supervisor -> worker
  drain = 16,          // stop accepting, finish in-flight work, exit 0; value = deadline in ms
  run_task = 17,       // run task `reason` as task.run; value = when it was due, in ms since the epoch
};

// How a task run ended in a worker (Kind::task_ended's value).
enum class TaskEnd : std::uint64_t {
  ok = 0,
  failed = 1,      // the function threw
  elsewhere = 2,   // another corral instance holds this run's lock
  refused = 3,     // not started: the worker is draining, does not know the task, or the lock failed
};

// The task fields of run_task, task_started and task_ended.
struct TaskFields {
  std::uint64_t run = 0;          // the supervisor's id of this run on this worker
  std::uint64_t timeout_ms = 0;   // run_task: past this the run is abandoned when draining
  std::uint64_t lock_ms = 0;      // run_task: take the cross-machine lock for this long (0: none)
  std::uint64_t token = 0;        // run_task: this corral instance, the lock's owner
  std::uint64_t fence_until_ms = 0;  // run_task: the lock stays taken until then (ms since the epoch)
  std::uint64_t duration_us = 0;  // task_ended
  std::uint32_t attempt = 1;      // run_task: 2 for a retry
  std::uint32_t reserved = 0;
};

std::string_view to_string(Kind kind);

// One message is one SOCK_SEQPACKET datagram of exactly this layout, so there is no
// framing, and a message can be built in advance and sent from a signal handler.
struct Message {
  static constexpr std::uint32_t magic_value = 0x4c524f43;  // "CORL"
  static constexpr std::uint16_t version_value = 2;
  static constexpr std::size_t reason_capacity = 240;

  std::uint32_t magic = magic_value;
  std::uint16_t version = version_value;
  Kind kind = Kind::heartbeat;
  std::uint8_t reserved = 0;
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  std::uint64_t value = 0;
  std::array<char, reason_capacity> reason{};  // NUL-terminated: a suicide notice's reason, a task's name or error
  TaskFields task{};

  static Message ready(std::uint32_t slot, std::uint32_t generation, std::uint64_t requests);
  static Message heartbeat(std::uint32_t slot, std::uint32_t generation, std::uint64_t requests);
  // The reason is cut to fit; it never fails.
  static Message suicide_notice(std::uint32_t slot, std::uint32_t generation, std::string_view reason,
                                std::uint64_t requests = 0);
  static Message drain(std::uint64_t deadline_ms);
  static Message run_task(std::string_view name, std::uint64_t scheduled_ms, const TaskFields& fields);
  static Message task_started(std::uint32_t slot, std::uint32_t generation, std::uint64_t run,
                              std::uint64_t started_us);
  // The error is cut to fit.
  static Message task_ended(std::uint32_t slot, std::uint32_t generation, std::uint64_t run, TaskEnd end,
                            std::uint64_t duration_us, std::string_view error = {});

  std::string_view reason_text() const;
};

// Checks size, magic, version, kind and the reason's terminator. nullopt means the
// datagram is not a corral message of this version.
std::optional<Message> decode(std::span<const std::byte> datagram);

}  // namespace corral::ipc
