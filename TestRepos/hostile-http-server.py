#!/usr/bin/env python3
"""A test HTTP server on 127.0.0.1 for ci-job's fetch tests. Prints "port N" first.

Serves files from --directory (HEAD and GET) and these hostile paths:
  /redirect?to=URL   302 to URL
  /r/PATH            302 to --redirect-base followed by /PATH (a whole remote moved)
  /endless           HEAD announces 10^12 bytes; GET sends zeros with no length, until the
                     client goes away or 4 GB were sent
  /trickle           GET announces 100 MB, sends 1 MB, then 1 kB a second for up to 120 s
  /stall             GET announces 1 MB, sends 1 kB, then nothing for up to 60 s
Every request is logged to --log as one JSON line: method, path and headers.
The server stops by itself after --lifetime seconds.
"""
import argparse, json, os, threading, time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

args = None
log_lock = threading.Lock()

class Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def __init__(self, *a, **kw):
        super().__init__(*a, directory=args.directory, **kw)

    def log_message(self, *a):
        pass

    def record(self):
        with log_lock, open(args.log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "headers": {k.lower(): v for k, v in self.headers.items()}}) + "\n")

    def do_HEAD(self):
        self.record()
        if not self.hostile(head=True):
            super().do_HEAD()

    def do_GET(self):
        self.record()
        if not self.hostile(head=False):
            super().do_GET()

    def hostile(self, head):
        path, _, query = self.path.partition("?")
        try:
            if path == "/redirect" or (path.startswith("/r/") and args.redirect_base):
                self.send_response(302)
                target = query[len("to="):] if path == "/redirect" else args.redirect_base + self.path[2:]
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/endless":
                self.send_response(200)
                if head:
                    self.send_header("Content-Length", str(10**12))
                self.end_headers()
                if not head:
                    block = b"\0" * (1 << 20)
                    for _ in range(4096):
                        self.wfile.write(block)
            elif path == "/trickle":
                self.send_response(200)
                self.send_header("Content-Length", str(100 * 10**6))
                self.end_headers()
                if not head:
                    self.wfile.write(b"\0" * (1 << 20))
                    for _ in range(120):
                        self.wfile.write(b"\0" * 1024)
                        self.wfile.flush()
                        time.sleep(1)
            elif path == "/stall":
                self.send_response(200)
                self.send_header("Content-Length", str(10**6))
                self.end_headers()
                if not head:
                    self.wfile.write(b"\0" * 1024)
                    self.wfile.flush()
                    time.sleep(60)
            else:
                return False
        except (BrokenPipeError, ConnectionResetError):
            pass
        return True

def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--directory", default=".")
    p.add_argument("--log", required=True)
    p.add_argument("--lifetime", type=float, default=600)
    p.add_argument("--redirect-base", default="")
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("port %d" % server.server_address[1], flush=True)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    server.serve_forever()

if __name__ == "__main__":
    main()
