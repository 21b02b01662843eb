// App workers: a program of any language started as each worker, the way systemd
// starts a socket-activated service (sd_listen_fds(3), sd_notify(3)), so that the
// model (suicide notice, replacement, hang detection, rolling reload) applies to it.
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/app_environment.hpp"
#include "app/app_launcher.hpp"
#include "sd/notification.hpp"
#include "supervisor/cpu_count.hpp"
#include "supervisor/spawn.hpp"
#include "supervisor/supervisor.hpp"
#include "supervisor/wait_status.hpp"

namespace corral {

namespace {

// An app has an agent when the file gives it command tasks (the service's own
// functions are not the app's code, and are not scheduled beside an app).
bool has_agent(const Settings& settings) {
  return settings.app.enabled() && std::any_of(settings.tasks.begin(), settings.tasks.end(),
                                               [](const tasks::TaskSpec& task) { return !task.command.empty(); });
}

}  // namespace

unsigned Supervisor::slots_for(const Settings& settings) {
  const auto workers = resolve_worker_count(settings.workers);
  return has_agent(settings) ? workers + 1 : workers;
}

bool Supervisor::is_agent_slot(unsigned slot) const {
  return has_agent(settings_) && slot + 1 == slots_for(settings_);
}

void Supervisor::start_app_worker(unsigned slot) {
  const auto generation = table_.take_generation(slot);
  auto notify = sd::NotifySocket::open(fmt::format("{}.{}", slot, generation));
  app::AppWorker about{slot, generation, static_cast<unsigned>(listen_fd_numbers_.size()), notify.address(), {}};
  if (settings_.hang_timeout.count() > 0) {
    about.watchdog = std::chrono::duration_cast<std::chrono::microseconds>(settings_.hang_timeout);
  }
  std::vector<std::string> arguments{app::launch_flag, "--supervisor-pid", std::to_string(::getpid())};
  if (settings_.app.ready == AppReady::started) arguments.emplace_back("--ready-at-start");
  arguments.emplace_back("--");
  arguments.insert(arguments.end(), settings_.app.command.begin(), settings_.app.command.end());
  SpawnRequest request;
  request.executable = "/proc/self/exe";
  request.argv0 = program_.name;
  request.arguments = std::move(arguments);
  request.fds_from_3 = listen_fd_numbers_;
  request.environment = app::app_environment(settings_.app, about, app::current_environment());
  request.working_directory = settings_.app.working_directory;
  const pid_t pid = spawn_process(request);
  auto& worker = table_.add(slot, generation, pid, ipc::Channel{}, now_);
  worker.notify = std::move(notify);
  worker.hang_checked = false;
  spdlog::info("worker {} started: pid {}, generation {}, {}", slot, pid, generation, settings_.app.command.front());
}

void Supervisor::read_notifications(WorkerRecord& worker) {
  sd::NotifySocket::Datagram datagram;
  for (;;) {
    switch (worker.notify.receive(datagram)) {
      case sd::NotifySocket::Result::datagram:
        handle_notification(worker, datagram.text);
        break;
      case sd::NotifySocket::Result::refused:
        spdlog::warn("worker {}: dropped a notify datagram from pid {}, which runs as another user", worker.slot,
                     datagram.sender);
        break;
      case sd::NotifySocket::Result::nothing:
        return;
    }
  }
}

void Supervisor::handle_notification(WorkerRecord& worker, const std::string& datagram) {
  const auto note = sd::parse_notification(datagram);
  worker.last_heard = now_;
  if ((!note.ignored.empty() || !note.malformed.empty()) && !worker.warned_ignored) {
    worker.warned_ignored = true;
    spdlog::warn("worker {} (pid {}) sent what corral does not act on for a worker: {}{}{} (said once per worker)",
                 worker.slot, worker.pid, fmt::join(note.ignored, ", "),
                 note.ignored.empty() || note.malformed.empty() ? "" : "; not assignments: ",
                 fmt::join(note.malformed, ", "));
  }
  if (note.status) {
    worker.app_status = *note.status;
    spdlog::debug("worker {} (pid {}): {}", worker.slot, worker.pid, worker.app_status);
  }
  if (note.watchdog) worker.hang_checked = true;
  if (note.ready) handle_message(worker, ipc::Message::ready(worker.slot, worker.generation, worker.requests));
  if (note.watchdog_trigger && !worker.abort_sent_at) {
    // The program says it is stuck: the hang path at once.
    worker.hang_checked = true;
    worker.last_heard = now_ - settings_.hang_timeout;
  }
  if (note.stopping && !worker.drain_sent && worker.state != WorkerState::draining) {
    // STOPPING=1 that nobody asked for is the suicide notice.
    const auto reason = note.status ? *note.status : std::string("STOPPING=1");
    worker.kill_at = now_ + settings_.drain_timeout;
    handle_message(worker, ipc::Message::suicide_notice(worker.slot, worker.generation, reason, worker.requests));
  }
}

void Supervisor::stop_app_worker(WorkerRecord& worker) {
  worker.kill_at = now_ + settings_.drain_timeout;
  ::kill(worker.pid, settings_.app.stop_signal);
}

void Supervisor::kill_overdue_app_workers() {
  for (auto& [pid, worker] : table_) {
    if (!worker.kill_at || worker.kill_sent_at || now_ < *worker.kill_at) continue;
    worker.kill_sent_at = now_;
    spdlog::warn("worker {} (pid {}) is still there {} after it was told to stop ({}): sending SIGKILL", worker.slot,
                 pid, seconds_text(settings_.drain_timeout), worker.drain_reason);
    ::kill(pid, SIGKILL);
  }
}

}  // namespace corral
