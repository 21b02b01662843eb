#pragma once

namespace corral::app {

// The first argument that makes a process the app launcher (the supervisor starts
// `/proc/self/exe --app-launch --supervisor-pid PID [--ready-at-start] -- PROGRAM
// ARGS...`).
inline constexpr const char* launch_flag = "--app-launch";

// The launcher, between the supervisor's spawn and the app, in the process that will
// be the app (same pid): it arranges to be killed when the supervisor dies, sets
// LISTEN_PID and WATCHDOG_PID to that pid, gives stdout and stderr their own journal
// streams when they go to the journal (so the journal shows the app's lines under the
// app's pid), says READY=1 first with --ready-at-start, and execs the program.
// Returns only if that failed: the exit code.
int launch_app(int argc, char** argv);

}  // namespace corral::app
