#!/usr/bin/env python3
"""A static file server on 127.0.0.1 that logs what it sends, for pull tests and benchmarks.

Usage: logging-httpd.py DIRECTORY LOGFILE [--max-requests N] [--lifetime SECONDS]

Prints "port N" on its first stdout line (the kernel picks a free port). Appends one line
per request to LOGFILE: "STATUS<TAB>BYTES<TAB>SECONDS<TAB>PATH", where BYTES is the file bytes
actually written to the socket (0 for error pages) and SECONDS the time the answer finished,
since the server started. The request loop is bounded: it stops after --max-requests requests
(default 200000) or --lifetime seconds (default 3600), whichever comes first, and on SIGTERM.
"""
import argparse
import http.server
import os
import signal
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("directory")
    ap.add_argument("logfile")
    ap.add_argument("--max-requests", type=int, default=200000)
    ap.add_argument("--lifetime", type=float, default=3600.0)
    args = ap.parse_args()
    log = open(args.logfile, "a", buffering=1)
    lock = threading.Lock()
    counter = [0]  # requests answered
    started = time.monotonic()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=args.directory, **kw)

        def copyfile(self, source, outputfile):
            while True:
                chunk = source.read(65536)
                if not chunk:
                    break
                outputfile.write(chunk)
                self.sent += len(chunk)

        def send_response(self, code, message=None):
            self.status = code
            super().send_response(code, message)

        def handle_one_request(self):
            self.sent, self.status = 0, None
            super().handle_one_request()
            if self.status is not None:
                with lock:
                    counter[0] += 1
                    log.write("%d\t%d\t%.3f\t%s\n" % (self.status, self.sent, time.monotonic() - started, self.path))

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.timeout = 0.5
    print("port %d" % server.server_address[1], flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deadline = time.monotonic() + args.lifetime
    while not stop.is_set() and counter[0] < args.max_requests and time.monotonic() < deadline:
        server.handle_request()
    server.server_close()
    log.close()


if __name__ == "__main__":
    sys.exit(main())
