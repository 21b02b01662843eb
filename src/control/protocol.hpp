#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace corral::control {

// The control socket speaks JSON lines: one command per line, one answer per line.
//   -> {"version": 1, "command": "status"}
//   <- {"version": 1, "ok": true, "status": {...}}     (control/pool_view.hpp)
//   <- {"version": 1, "ok": false, "error": "..."}
//   -> {"version": 1, "command": "task-run", "task": "purge-sessions"}
//   <- {"version": 1, "ok": true, "run": {"task": "...", "workers": [1]}}
// An answer carries the protocol's version; a command of another version is refused.
inline constexpr int protocol_version = 1;
// A longer line is answered with an error and the connection is closed.
inline constexpr std::size_t max_command_bytes = 4096;

struct Command {
  std::string name;  // "status" or "task-run"
  std::string task;  // task-run: the task's name
};

// Throws std::invalid_argument with what the error answer says.
Command parse_command(std::string_view line);
std::string command_line(std::string_view name);
std::string task_run_command_line(std::string_view task);

// `result` is a JSON value, placed under `field`.
std::string ok_answer(std::string_view field, std::string_view result);
std::string error_answer(std::string_view message);

// The JSON value under `field` of an answer; throws std::runtime_error with the
// supervisor's error message, or std::invalid_argument for an answer that is not one.
std::string answer_result(std::string_view answer, std::string_view field);

}  // namespace corral::control
