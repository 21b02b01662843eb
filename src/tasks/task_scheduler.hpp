#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/next_run.hpp"
#include "tasks/task_spec.hpp"

namespace corral::tasks {

// How one run of a task ended, as recorded and counted.
enum class Outcome {
  ok,
  failed,     // the function threw
  crashed,    // its worker died while running it
  timeout,    // still running at its timeout: the worker is recycled
  overlap,    // due while the previous run still ran (overlap = false): skipped
  missed,     // could not start on time (corral down, no worker ready): skipped
  elsewhere,  // another corral instance took it (Redis lock)
};
inline constexpr std::size_t outcome_count = 7;
const char* outcome_name(Outcome outcome);
// The runs that started and did not end well.
inline constexpr std::array<Outcome, 3> failure_outcomes{Outcome::failed, Outcome::crashed, Outcome::timeout};
constexpr bool is_failure(Outcome outcome) {
  return std::find(failure_outcomes.begin(), failure_outcomes.end(), outcome) != failure_outcomes.end();
}

// How far two machines' clocks may disagree and one run still be taken once: a run's
// lock across machines outlives every start of it by this much.
inline constexpr std::chrono::seconds clock_margin{30};

// Upper bounds (seconds) of the run duration histogram.
inline constexpr std::array<double, 8> duration_buckets{0.01, 0.1, 1, 10, 60, 300, 1800, 3600};

// A run the supervisor is to start now.
struct DueRun {
  std::string task;
  WallTime scheduled;  // when it was due, before jitter: it names the run (and its lock)
  bool manual = false;
  unsigned attempt = 1;  // 2: the retry of a run whose worker died
  bool resent = false;   // handed back unstarted by a draining worker once already
};

// A run that will not start: overlap or missed.
struct SkippedRun {
  std::string task;
  WallTime scheduled;  // the latest of them
  Outcome outcome = Outcome::overlap;
  std::uint64_t count = 1;  // runs skipped at once (a stalled supervisor, a clock step)
};

struct DueRuns {
  std::vector<DueRun> start;
  std::vector<SkippedRun> skipped;  // already counted; for the log
};

struct LastRun {
  WallTime scheduled;
  WallTime ended;
  Outcome outcome = Outcome::ok;
  std::chrono::microseconds duration{0};
};

// One task as `corral status` and the metrics show it.
struct TaskStatus {
  std::string name;
  std::string schedule;
  RunOn run_on = RunOn::one;
  bool enabled = true;
  std::optional<WallTime> next;  // next due
  std::optional<LastRun> last;
  unsigned running = 0;
  std::array<std::uint64_t, outcome_count> runs{};
  std::array<std::uint64_t, duration_buckets.size()> duration_le{};  // cumulative
  std::uint64_t duration_count = 0;
  double duration_sum_seconds = 0;
};

// When each task runs: the pure policy behind the supervisor's task dispatch. It is
// given the wall clock (schedules are wall-clock times) and a random source (jitter),
// and decides which runs are due, which are skipped (overlap, missed) and when to look
// again. Where a run goes is the supervisor's business.
class TaskScheduler {
 public:
  using Random = std::function<double()>;  // uniform in [0, 1)
  // A run that cannot start this long after it was due (plus jitter), for want of a
  // ready worker or because the supervisor itself was held up (a frozen VM, a clock
  // step), is missed when its task skips missed runs.
  static constexpr auto missed_grace = std::chrono::seconds(10);

  explicit TaskScheduler(Random random) : random_(std::move(random)) {}

  // At start and on reload. A task that keeps its name keeps its state (what runs,
  // its counts); one with a new schedule is due next by the new one. `last_due` is,
  // per task, the latest run taken before corral (re)started: runs due since then were
  // missed, and a task with MissedRuns::run_once runs the latest of them now.
  // Returns one line per task that missed runs, for the log.
  std::vector<std::string> configure(const std::vector<TaskSpec>& specs, WallTime now,
                                     const std::map<std::string, WallTime, std::less<>>& last_due = {});

  // The runs to start at `now`; `can_start`: a worker is ready to take one.
  DueRuns take_due(WallTime now, bool can_start);
  // A run asked for by hand (`corral task run`). Throws std::invalid_argument for an
  // unknown task, or one still running that does not allow overlap.
  DueRun run_now(std::string_view name, WallTime now);

  // One instance of a run started on a worker, and how it ended: ended() is both
  // recorded() (its outcome, counted) and finished() (no longer running). A run past
  // its timeout is recorded at once but runs on until its worker exits.
  void started(std::string_view task);
  void ended(std::string_view task, const LastRun& run);
  void recorded(std::string_view task, const LastRun& run);
  void finished(std::string_view task);
  // A run to start again as soon as a worker can take it (a retry, a hand-off): it
  // waits like a due run, as long as it must (a pool of one worker retries on that
  // worker's replacement).
  void again(DueRun run);
  // Until when a run's lock across machines must stay taken: past the latest any
  // instance could still start that run (its jitter and grace, or, for run-once
  // tasks, until the next run is due), plus `margin` for clocks that disagree.
  WallTime fence_until(std::string_view task, WallTime scheduled, std::chrono::milliseconds margin) const;
  // One sent that a worker handed back unstarted (it was draining): not a run.
  void withdrawn(std::string_view task);
  // A run that never started: overlap, missed, elsewhere.
  void skipped(std::string_view task, Outcome outcome, WallTime scheduled, WallTime now);

  // When take_due next has something to do, if ever.
  std::optional<WallTime> next_wake() const;

  const TaskSpec* find(std::string_view name) const;
  std::vector<TaskStatus> status() const;

 private:
  struct Pending {
    WallTime scheduled;
    WallTime start_at;  // scheduled + jitter
  };
  struct State {
    TaskSpec spec;
    NextRun next_run;
    WallTime next_due;
    std::optional<Pending> pending;
    bool waiting = false;  // pending is due but found no worker
    TaskStatus status;
  };

  State* find_state(std::string_view name);
  void skip(State& state, Outcome outcome, WallTime scheduled, WallTime now, DueRuns& runs, std::uint64_t count = 1);
  void record(State& state, Outcome outcome);
  WallTime jittered(const State& state, WallTime scheduled);

  Random random_;
  std::vector<State> states_;
  std::vector<DueRun> again_;
};

}  // namespace corral::tasks
