#!/usr/bin/python3
"""An app for the integration tests of app workers: tells what corral gave it, and
misbehaves on request. Standard library only; one request at a time.

  GET /          pid=P ppid=Q slot=S generation=G listen_pid=... listen_fds=... names=...
                 notify=... watchdog_usec=... marker=$PROBE_MARKER cwd=...
  GET /hang      answers, then stops its watchdog and its loop (a hung worker)
  GET /exit      answers, then exits with code 7 without a notice
  GET /status    sends STATUS=probe status
With --quiet it sends nothing on $NOTIFY_SOCKET (for ready = "started").
"""

import os
import socket
import sys
import threading
import time

quiet = "--quiet" in sys.argv


def notify(message):
    address = os.environ.get("NOTIFY_SOCKET", "")
    if quiet or not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as channel:
        channel.sendto(message.encode(), address)


hung = threading.Event()


def watchdog():
    interval = int(os.environ.get("WATCHDOG_USEC", "0")) / 3e6
    while interval and not hung.is_set():
        notify("WATCHDOG=1")
        time.sleep(interval)


def describe():
    e = os.environ.get
    return (f"pid={os.getpid()} ppid={os.getppid()} slot={e('CORRAL_WORKER_SLOT')} "
            f"generation={e('CORRAL_WORKER_GENERATION')} listen_pid={e('LISTEN_PID')} listen_fds={e('LISTEN_FDS')} "
            f"names={e('LISTEN_FDNAMES')} notify={e('NOTIFY_SOCKET')} watchdog_usec={e('WATCHDOG_USEC')} "
            f"marker={e('PROBE_MARKER')} cwd={os.getcwd()}")


def answer(connection, body):
    connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}".encode())


def main():
    listener = socket.socket(fileno=3)
    threading.Thread(target=watchdog, daemon=True).start()
    notify("READY=1")
    stopping = []
    import signal
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    listener.settimeout(0.1)
    while not stopping:
        try:
            connection, _ = listener.accept()
        except (socket.timeout, BlockingIOError, InterruptedError):
            continue
        with connection:
            request = connection.recv(4096).decode(errors="replace")
            path = request.split(" ")[1] if request.count(" ") >= 2 else "/"
            answer(connection, describe() if path == "/" else path)
        if path == "/hang":
            hung.set()
            time.sleep(3600)
        elif path == "/exit":
            sys.exit(7)
        elif path == "/status":
            notify("STATUS=probe status")


if __name__ == "__main__":
    main()
