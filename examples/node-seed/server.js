#!/usr/bin/node
// The seed's Node.js program as a corral app: the master is gone (corral is the
// master), and the worker keeps its code. corral starts this program once per worker,
// as systemd starts a socket-activated service: the listening socket is fd 3
// (LISTEN_FDS=1), and $NOTIFY_SOCKET takes sd_notify(3) messages. Node's core has no
// unix datagram socket, so the messages go through systemd-notify(1), which counts
// because the socket is this worker's own. No npm package.
'use strict';

const http = require('http');
const net = require('net');
const { execFileSync } = require('child_process');

const LISTEN_FDS_START = 3;

// sd_notify(3) through systemd-notify; synchronous, so that a notice is out before
// the process goes on (or exits).
function notify(...assignments) {
  if (!process.env.NOTIFY_SOCKET) return;
  try {
    execFileSync('systemd-notify', assignments, { stdio: 'ignore' });
  } catch (error) {
    console.error(`systemd-notify ${assignments.join(' ')}: ${error.message}`);
  }
}

if (process.env.LISTEN_PID !== String(process.pid) || process.env.LISTEN_FDS !== '1') {
  console.error('server.js: expected one socket from corral or systemd (LISTEN_PID, LISTEN_FDS)');
  process.exit(1);
}

let draining = false;
const server = http.createServer((req, res) => {
  if (draining) res.setHeader('Connection', 'close');
  const body = `I am worker, pid:${process.pid}, ppid:${process.ppid}`;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
  // The seed's demo: throw after the answer, to show the crash and the regeneration.
  if (req.url === '/crash') setImmediate(() => { throw new Error('crash on purpose (/crash)'); });
});

// Stop taking connections now and exit once the open ones are done; answers from now
// on carry Connection: close. The listening socket closes at once, so that no new
// connection reaches a worker that is going. It is net.Server's close, which only stops
// listening: http.Server's own (Node 19 and later) also closes the connections it sees
// idle, which would lose a request already on its way over one. Those are closed a
// moment later, once such requests have been read.
function drain() {
  if (draining) return;
  draining = true;
  net.Server.prototype.close.call(server, () => process.exit(0));
  setTimeout(() => server.closeIdleConnections(), 100);
}

// The seed's suicide notice: stop taking connections, tell the master, so that the
// replacement starts now, and exit once the open connections are closed.
process.on('uncaughtException', (error) => {
  console.error(`worker ${process.pid}: ${error.stack}`);
  drain();
  notify('STOPPING=1', `STATUS=${error.message}`);
});

// corral's stop signal (SIGTERM): a reload or a stop. Drain the same way.
process.on('SIGTERM', drain);

server.listen({ fd: LISTEN_FDS_START }, () => {
  notify('--ready');
  const watchdogUsec = Number(process.env.WATCHDOG_USEC || 0);
  if (watchdogUsec > 0) setInterval(() => notify('WATCHDOG=1'), watchdogUsec / 3000).unref();
});
