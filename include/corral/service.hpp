#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "corral/loop.hpp"
#include "corral/request.hpp"
#include "corral/response.hpp"
#include "corral/task.hpp"

namespace corral {

using Handler = std::function<void(const Request&, Response&)>;

namespace detail {
struct ServiceDefinition;
}

// A setting a service declares: read from `--flag VALUE` or the TOML key, checked
// against its bounds, passed to every worker, and re-read on reload (workers are then
// replaced, so a worker sees one value all its life). Read it in handlers with `*`.
template <class T>
class Setting {
 public:
  const T& operator*() const noexcept { return *value_; }
  const T* operator->() const noexcept { return value_.get(); }

 private:
  friend struct detail::ServiceDefinition;
  explicit Setting(std::shared_ptr<T> value) : value_(std::move(value)) {}
  std::shared_ptr<const T> value_;
};

// A service on corral's process model: its routes and settings, and run(), which is
// the whole program. Started by a person or by systemd, run() is the supervisor:
// socket activation (or --listen), one worker per CPU, readiness and watchdog, reload,
// restart limits, the journal. Started by the supervisor, it is a worker serving the
// routes. Define everything before run(); the definition is the same in both roles.
//
//   int main(int argc, char** argv) {
//     corral::Service service("hello");
//     service.get("/users/{id}", [](const corral::Request& request, corral::Response& response) {
//       response.text(200, "user " + std::string(*request.param("id")));
//     });
//     return service.run(argc, argv);
//   }
class Service {
 public:
  // `name`: lower-case letters, digits and '-' (it names the process titles,
  // "NAME: worker 2", and --help). Throws std::invalid_argument otherwise.
  explicit Service(std::string name);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const std::string& name() const noexcept;

  // Serves `method` requests for paths that match `pattern`: literal segments and
  // "{name}" segments, which match any one non-empty segment ("/users/{id}"). A GET
  // route serves HEAD too. An unknown path gets 404; a known path with another method
  // gets 405 with Allow. Throws std::invalid_argument for a malformed pattern or a
  // route defined twice.
  Service& route(std::string_view method, std::string_view pattern, Handler handler);
  Service& get(std::string_view pattern, Handler handler) { return route("GET", pattern, std::move(handler)); }
  Service& post(std::string_view pattern, Handler handler) { return route("POST", pattern, std::move(handler)); }
  Service& put(std::string_view pattern, Handler handler) { return route("PUT", pattern, std::move(handler)); }
  Service& patch(std::string_view pattern, Handler handler) { return route("PATCH", pattern, std::move(handler)); }
  Service& del(std::string_view pattern, Handler handler) { return route("DELETE", pattern, std::move(handler)); }
  // A route served only with enable_debug_routes (--enable-debug-routes), for tests
  // that crash or stall workers on purpose; otherwise its path is unknown (404).
  Service& debug_route(std::string_view method, std::string_view pattern, Handler handler);

  // Defines a scheduled task: `function` runs on `schedule` in the workers, once per
  // run on one worker (or on every worker), as `options` say. The supervisor keeps the
  // schedule; the configuration file's [[task]] entry of the same name overrides the
  // schedule and options, and `NAME task run TASK` runs it at once. Throws
  // std::invalid_argument for a name taken or malformed (1 to 64 lower-case letters,
  // digits, '-' and '_', starting with a letter), an empty function, a timeout under
  // 1 s or a negative jitter.
  //
  //   service.task("purge-sessions", corral::Schedule::every(std::chrono::minutes(1)),
  //                corral::purge_expired_store);
  Service& task(std::string name, Schedule schedule, TaskFunction function, TaskOptions options = {});

  // Declares a setting: the TOML key (`key`, may be dotted: "hello.greeting"), the flag
  // (--hello-greeting), the help text and the default. Keys and flags must not collide
  // with corral's own (std::invalid_argument).
  Setting<std::string> text_setting(std::string key, std::string help, std::string default_value);
  Setting<std::int64_t> number_setting(std::string key, std::string help, std::int64_t default_value,
                                       std::int64_t min, std::int64_t max);
  Setting<bool> flag_setting(std::string key, std::string help);
  Setting<std::chrono::milliseconds> duration_setting(std::string key, std::string help,
                                                      std::chrono::milliseconds default_value,
                                                      std::chrono::milliseconds min, std::chrono::milliseconds max);

  // The program: parses the command line (--help lists corral's flags and the
  // service's), then runs the supervisor or, when started by it, a worker. Returns
  // the exit code for main(). Errors are logged here, never thrown.
  int run(int argc, char** argv);

 private:
  std::unique_ptr<detail::ServiceDefinition> definition_;
};

}  // namespace corral
