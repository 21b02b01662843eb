// A service of the tests' own, on the public API only: what a user's service does
// with requests, responses, settings and deferred answers.
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "corral/corral.hpp"

namespace {

// One line per task event, appended with O_APPEND (whole lines, whichever worker
// writes): "EVENT TASK SCHEDULED_MS PID ATTEMPT WALL_US".
void note(const std::string& file, const char* event, const corral::TaskRun& run) {
  if (file.empty()) return;
  const auto now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
  const auto scheduled_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(run.scheduled().time_since_epoch());
  const auto line = std::string(event) + " " + run.task() + " " + std::to_string(scheduled_ms.count()) + " " +
                    std::to_string(::getpid()) + " " + std::to_string(run.attempt()) + " " +
                    std::to_string(now_us.count()) + "\n";
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open the task log " + file);
  const auto written = ::write(fd, line.data(), line.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size())) throw std::runtime_error("cannot write the task log " + file);
}

}  // namespace

int main(int argc, char** argv) {
  corral::Service service("test-service");
  const auto greeting = service.text_setting("app.greeting", "what GET /greeting answers", "hello");
  const auto limit = service.number_setting("app.limit", "a number, for the settings test", 5, 1, 10);
  const auto loud = service.flag_setting("app.loud", "answer /greeting in capitals");

  service.post("/echo", [](const corral::Request& request, corral::Response& response) {
    response.body(std::string(request.body())).content_type("application/octet-stream");
  });
  service.get("/cookie", [](const corral::Request& request, corral::Response& response) {
    const auto sid = request.cookie("sid");
    if (!sid) throw corral::ClientError(401, "no sid cookie");
    response.text(200, std::string(*sid));
  });
  service.post("/login", [](const corral::Request& request, corral::Response& response) {
    const auto user = request.form("user");
    if (!user || user->empty()) throw corral::ClientError(400, "form field user is required");
    corral::Cookie cookie{"sid", "user-" + std::to_string(user->size())};
    cookie.max_age = std::chrono::hours(1);
    response.set_cookie(cookie).text(200, "welcome " + *user);
  });
  service.get("/users/{id}", [](const corral::Request& request, corral::Response& response) {
    response.json(200, "{\"id\":\"" + std::string(*request.param("id")) + "\"}");
  });
  service.get("/headers", [](const corral::Request& request, corral::Response& response) {
    std::string joined;
    for (const auto value : request.header_values(request.query("name").value_or("x-tag"))) {
      joined += std::string(value) + ";";
    }
    response.text(200, joined);
  });
  service.get("/peer", [](const corral::Request& request, corral::Response& response) {
    response.text(200, request.peer().address + " " + std::to_string(request.peer().port));
  });
  service.get("/later", [](const corral::Request& request, corral::Response& response) {
    const auto ms = std::stoi(request.query("ms").value_or("10"));
    request.loop().after(std::chrono::milliseconds(ms), [responder = response.defer(), ms] {
      corral::Response answer;
      answer.text(200, "later " + std::to_string(ms));
      responder.send(std::move(answer));
    });
  });
  service.get("/greeting", [greeting, loud](const corral::Request&, corral::Response& response) {
    std::string text = *greeting;
    if (*loud) {
      for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    response.text(200, text);
  });
  // For the differential test against nginx: which request was served, in order.
  const auto which = [](const corral::Request& request, corral::Response& response) {
    response.text(200, std::string(request.method()) + " " + std::string(request.path()) + "\n");
  };
  service.get("/r/{n}", which);
  service.post("/r/{n}", which);
  service.put("/r/{n}", which);
  service.patch("/r/{n}", which);
  service.del("/r/{n}", which);
  const auto pause = service.duration_setting("app.pause", "how long GET /pause waits", std::chrono::milliseconds(50),
                                              std::chrono::milliseconds(0), std::chrono::seconds(5));
  service.get("/pause", [pause](const corral::Request& request, corral::Response& response) {
    corral::log(corral::LogLevel::info, "pausing " + std::to_string(pause->count()) + " ms");
    request.loop().after(*pause, [responder = response.defer()] {
      corral::Response answer;
      answer.status(204);
      responder.send(answer);
    });
  });
  service.get("/limit", [limit](const corral::Request&, corral::Response& response) {
    response.text(200, std::to_string(*limit));
  });
  // Tasks for the task tests, all off until a [[task]] entry enables them.
  const auto task_log = service.text_setting("app.task_log", "where the tasks note their starts and ends", "");
  const auto task_sleep = service.duration_setting("app.task_sleep", "how long the slow task runs",
                                                   std::chrono::milliseconds(2000), std::chrono::milliseconds(0),
                                                   std::chrono::hours(1));
  corral::TaskOptions off;
  off.enabled = false;
  const auto noting = [task_log](const corral::TaskRun& run) {
    note(*task_log, "start", run);
    note(*task_log, "end", run);
  };
  service.task("tick", corral::Schedule::every(std::chrono::seconds(1)), noting, off);
  corral::TaskOptions everywhere = off;
  everywhere.run_on = corral::RunOn::all;
  service.task("everywhere", corral::Schedule::every(std::chrono::seconds(1)), noting, everywhere);
  // Sleeps without looking at stop_requested(): what a task stuck in a call does.
  service.task("slow", corral::Schedule::every(std::chrono::seconds(1)),
               [task_log, task_sleep](const corral::TaskRun& run) {
                 note(*task_log, "start", run);
                 std::this_thread::sleep_for(*task_sleep);
                 note(*task_log, "end", run);
               },
               off);
  // Sleeps in short steps and stops when asked: what a well-behaved long task does.
  service.task("steps", corral::Schedule::every(std::chrono::seconds(1)),
               [task_log, task_sleep](const corral::TaskRun& run) {
                 note(*task_log, "start", run);
                 const auto until = std::chrono::steady_clock::now() + *task_sleep;
                 while (std::chrono::steady_clock::now() < until) {
                   if (run.stop_requested()) return note(*task_log, "stopped", run);
                   std::this_thread::sleep_for(std::chrono::milliseconds(20));
                 }
                 note(*task_log, "end", run);
               },
               off);
  service.task("throws", corral::Schedule::every(std::chrono::seconds(1)),
               [task_log](const corral::TaskRun& run) {
                 note(*task_log, "start", run);
                 throw std::runtime_error("failing on purpose");
               },
               off);
  service.task("nightly", corral::Schedule::cron("0 3 * * *", "Europe/Berlin"), noting, off);
  return service.run(argc, argv);
}
