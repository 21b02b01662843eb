#include "control/protocol.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace corral::control {

Command parse_command(std::string_view line) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception&) {
    throw std::invalid_argument("the command is not JSON; send one line like {\"version\": 1, \"command\": \"status\"}");
  }
  if (!json.is_object()) throw std::invalid_argument("the command must be a JSON object");
  const auto version = json.find("version");
  if (version == json.end() || !version->is_number_integer() || *version != protocol_version) {
    throw std::invalid_argument(fmt::format("this supervisor speaks version {} of the protocol", protocol_version));
  }
  const auto name = json.find("command");
  if (name == json.end() || !name->is_string()) throw std::invalid_argument("the command has no \"command\" string");
  Command command{name->get<std::string>(), {}};
  if (command.name == "task-run") {
    const auto task = json.find("task");
    if (task == json.end() || !task->is_string()) throw std::invalid_argument("task-run needs a \"task\" string");
    command.task = task->get<std::string>();
    return command;
  }
  if (command.name != "status") {
    throw std::invalid_argument(fmt::format("unknown command \"{}\" (known: status, task-run)", command.name));
  }
  return command;
}

std::string command_line(std::string_view name) {
  return nlohmann::json{{"version", protocol_version}, {"command", name}}.dump() + "\n";
}

std::string task_run_command_line(std::string_view task) {
  return nlohmann::json{{"version", protocol_version}, {"command", "task-run"}, {"task", task}}.dump() + "\n";
}

std::string ok_answer(std::string_view field, std::string_view result) {
  return fmt::format("{{\"version\":{},\"ok\":true,\"{}\":{}}}\n", protocol_version, field, result);
}

std::string error_answer(std::string_view message) {
  return nlohmann::json{{"version", protocol_version}, {"ok", false}, {"error", message}}.dump() + "\n";
}

std::string answer_result(std::string_view answer, std::string_view field) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(answer);
  } catch (const nlohmann::json::exception&) {
    throw std::invalid_argument("the supervisor's answer is not JSON");
  }
  if (!json.is_object() || !json.contains("ok")) throw std::invalid_argument("the supervisor's answer has no \"ok\"");
  if (json["ok"] != true) throw std::runtime_error(json.value("error", std::string("the supervisor refused")));
  const auto result = json.find(std::string(field));
  if (result == json.end()) throw std::invalid_argument(fmt::format("the answer has no \"{}\"", field));
  return result->dump();
}

}  // namespace corral::control
