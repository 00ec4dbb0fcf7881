#!/usr/bin/env python3
"""A deliberately misbehaving HTTP server for the Fetch tests (Python 3 stdlib only).

Listens on 127.0.0.1, port chosen by the OS, and prints that port as its first stdout line.
Every path serves the same deterministic payload: SIZE bytes, byte i = (i*31 + 7) % 251.

  /ok        honours Range (206 + Content-Range; 416 + "bytes */SIZE" at/after the end)
  /drop      a request without Range gets 200, Content-Length SIZE, then the socket closes after
             DROP_AT bytes; requests with Range are honoured, so the client must resume
  /stall     like /drop, but stalls (sends nothing, keeps the socket open) after STALL_AT bytes
  /norange   ignores Range: always 200 with the whole body
  /flaky     the first 2 requests get 503, later ones behave like /ok
  /missing   404 with an HTML body
  /redirect  302 to /ok
  /log       JSON list of the requests so far (not counting /log itself):
             [{"path": "/drop", "range": "bytes=1000000-" or null, "agent": "herd/0.1"}, ...]

Query strings are ignored for routing but kept in the logged path. With `--log FILE`, every logged
request is also appended to FILE as one JSON object per line (written before the response is sent).
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIZE = 3_000_000
DROP_AT = 1_000_000
STALL_AT = 1  # curl averages speed over ~5 s: more bytes would delay the low-speed abort
PERIOD = bytes((i * 31 + 7) % 251 for i in range(251))
PAYLOAD = (PERIOD * (SIZE // len(PERIOD) + 1))[:SIZE]

log = []
log_lock = threading.Lock()
log_file = None
flaky_count = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep the test output quiet
        pass

    def do_GET(self):
        route = self.path.split("?", 1)[0]
        if route == "/log":
            with log_lock:
                body = json.dumps(log).encode()
            return self.send_body(200, body, "application/json")
        entry = {"path": self.path, "range": self.headers.get("Range"),
                 "agent": self.headers.get("User-Agent")}
        with log_lock:
            log.append(entry)
            if log_file is not None:
                with open(log_file, "a") as f:
                    f.write(json.dumps(entry) + "\n")

        if route == "/ok":
            return self.serve_payload(honour_range=True)
        if route == "/drop":
            if self.headers.get("Range") is None:
                return self.serve_cut(DROP_AT, stall=False)
            return self.serve_payload(honour_range=True)
        if route == "/stall":
            if self.headers.get("Range") is None:
                return self.serve_cut(STALL_AT, stall=True)
            return self.serve_payload(honour_range=True)
        if route == "/norange":
            return self.serve_payload(honour_range=False)
        if route == "/flaky":
            global flaky_count
            with log_lock:
                flaky_count += 1
                count = flaky_count
            if count <= 2:
                return self.send_body(503, b"<html><body>try again later</body></html>", "text/html")
            return self.serve_payload(honour_range=True)
        if route == "/missing":
            return self.send_body(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html")
        if route == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        return self.send_body(404, b"no such route", "text/plain")

    def send_body(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def serve_payload(self, honour_range):
        header = self.headers.get("Range")
        if honour_range and header is not None and header.startswith("bytes="):
            first, _, last = header[len("bytes="):].partition("-")
            start = int(first)
            end = int(last) if last else SIZE - 1
            if start >= SIZE:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % SIZE)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            end = min(end, SIZE - 1)
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, SIZE))
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            self.wfile.write(PAYLOAD[start:end + 1])
            return
        self.send_response(200)
        self.send_header("Content-Length", str(SIZE))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def serve_cut(self, cut, stall):
        """Promises the whole payload but delivers only `cut` bytes, then closes (or stalls)."""
        self.send_response(200)
        self.send_header("Content-Length", str(SIZE))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(PAYLOAD[:cut])
        self.wfile.flush()
        if stall:
            time.sleep(30)  # the client's low-speed timeout gives up long before this
        self.close_connection = True


def main():
    global log_file
    if len(sys.argv) == 3 and sys.argv[1] == "--log":
        log_file = sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
