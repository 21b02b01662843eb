#!/usr/bin/python3
"""A standard-library Python service run by corral as its workers (docs/apps.md).

corral starts this program once per worker, as systemd would start a socket-activated
service: the listening socket is fd 3 (LISTEN_FDS=1) and $NOTIFY_SOCKET takes
sd_notify(3) messages. Nothing here needs a package from outside Python.

  GET /        I am worker, pid:<pid>, ppid:<ppid>
  GET /crash   answers, sends the suicide notice (STOPPING=1), and exits when done
"""

import http.server
import os
import signal
import socket
import socketserver
import sys
import threading

LISTEN_FDS_START = 3


def notify(message):
    """sd_notify(3) in a few lines: one datagram to $NOTIFY_SOCKET ('@' is abstract)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as channel:
        channel.sendto(message.encode(), address)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for every answer in progress
    draining = False

    def __init__(self):
        # The socket corral passed; bind and listen were done by systemd. (Not
        # TCPServer's __init__: it would create a socket of its own, which a hardened
        # unit, RestrictAddressFamilies=AF_UNIX, refuses.)
        socketserver.BaseServer.__init__(self, None, Handler)
        self.socket = socket.socket(fileno=LISTEN_FDS_START)
        # Every worker waits on the same socket: another may take the connection first,
        # and a blocking accept() would then hang where a drain cannot reach it.
        self.socket.setblocking(False)

    def drain(self, wait=False):
        """Stop taking connections; answers from now on close theirs.

        wait: return only once serve_forever() has stopped accepting. Only from a
        handler's thread: serve_forever's own (a signal handler) would wait for itself.
        """
        if not self.draining:
            self.draining = True
            if not wait:
                threading.Thread(target=self.shutdown, daemon=True).start()
        if wait:
            self.shutdown()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    timeout = 5  # an idle keep-alive connection is closed after this

    def do_GET(self):
        crash = self.path == "/crash"
        if crash:
            # Stop taking connections before the notice, so that none reaches a worker
            # that corral already counts as going.
            self.server.drain(wait=True)
            notify("STOPPING=1\nSTATUS=crashing on purpose (/crash)")
        body = f"I am worker, pid:{os.getpid()}, ppid:{os.getppid()}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if self.server.draining:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # corral's access log, not one line per request on stderr


def main():
    if os.environ.get("LISTEN_PID") != str(os.getpid()) or os.environ.get("LISTEN_FDS") != "1":
        sys.exit("app.py: expected one socket from corral or systemd (LISTEN_PID, LISTEN_FDS)")
    server = Server()
    # SIGTERM from corral: drain (a reload, a stop) and exit once the answers are out.
    signal.signal(signal.SIGTERM, lambda *_: server.drain())
    watchdog = int(os.environ.get("WATCHDOG_USEC", "0")) / 1e6
    if watchdog:
        stop = threading.Event()
        threading.Thread(target=lambda: [notify("WATCHDOG=1") for _ in iter(lambda: stop.wait(watchdog / 3), True)],
                         daemon=True).start()
    notify("READY=1")
    print(f"app.py: worker {os.environ.get('CORRAL_WORKER_SLOT')} serving", flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()


if __name__ == "__main__":
    main()
