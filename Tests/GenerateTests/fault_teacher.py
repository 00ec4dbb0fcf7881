#!/usr/bin/env python3
"""A deliberately misbehaving, OpenAI-compatible chat-completions teacher (Python 3 stdlib only).

  python3 fault_teacher.py [--port 0] [--log FILE] [--faults SPEC] [--fault-attempts K] [--api-key KEY]
                           [--slow-seconds S] [--retry-after SECONDS] [--delay-ms MS] [--canned] [--examples N]

Listens on 127.0.0.1:PORT (0: the OS chooses) and prints the port as its first stdout line. Exits
with status 0 on SIGTERM/SIGINT. HTTP/1.1 on asyncio (keep-alive unless `Connection: close`, HTTP/1.0
closes unless `Connection: keep-alive`; pipelined requests are answered in order; Content-Length
bodies; `Expect: 100-continue` gets `100 Continue` first; chunked bodies get 411 and a close).

  POST /v1/chat/completions[?query]   the teacher (below)
  GET  /health                        200 "ok"
  anything else                       404 JSON error; an unparsable request line or headers: 400, close

Every chat request has key = lowercase hex sha256 of its exact body bytes, and attempt = 1 + the
number of earlier chat requests (any outcome) with that key. In order:
  1. --api-key KEY: without `Authorization: Bearer KEY` -> 401 invalid_api_key (auth "missing"/"wrong").
  2. A body that is not a JSON object with a non-empty "messages" list -> 400 (not with --canned).
  3. Fault: u = int(key[:8], 16) / 2**32; the names of SPEC (e.g. `429:0.1,500:0.05,slow:0.02`) take
     consecutive ranges of [0, 1) in the order written; past them, no fault. Transient faults apply
     while attempt <= K (--fault-attempts, default 1), later attempts are answered normally; `400`
     and `length` apply on every attempt.
       429        429 rate_limit_exceeded, `Retry-After: <--retry-after, default 1>`
       500 503 408  that status, server_error JSON ("... (fault 500)")
       400        400 context_length_exceeded ("... 4097 tokens (fault 400)")
       slow       sends nothing for --slow-seconds (default 5), then the normal reply
       malformed  200 with the right Content-Length for a body that is the normal body's first half
       truncated  200 with the Content-Length of the normal body, its first half, then a close
       close      closes the connection without sending anything
       length     200, finish_reason "length", the last <example> unterminated (ends `explain to`);
                  for a response request the answer is cut to its first half instead
  4. Otherwise the normal reply (compact JSON, deterministic from the body):
       {"id":"chatcmpl-<key[:24]>","object":"chat.completion","created":1700000000,"model":<request's>,
        "choices":[{"index":0,"message":{"role":"assistant","content":CONTENT},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":P,"completion_tokens":C,"total_tokens":P+C}}
     P = max(1, len(body)//4), C = max(1, len(CONTENT in UTF-8)//4). If the last message's content
     contains `<example>`: N (--examples, default 3) lines joined by "\\n",
     `<example>Instruction {key[:8]} number {i}: explain topic {i}.</example>`, i = 1..N;
     if the body contains `Grade: A` (a judge's rubric): with u = int(key[8:10], 16), `Grade: X\nReason
     {key[:8]}.` with X = "ABCD"[u % 4], or, when u % 8 == 7, `I would rather not grade this one
     ({key[:8]}).`; otherwise `Answer {key[:12]}: ` + the first 40 characters of the last message's content.

--diverse      generated examples are `<example>Describe the W1 ... W8.</example>`, eight words
                from a fixed list of 64 picked by sha256("KEY8/i"): unlike the default ones they
                rarely pass the ROUGE-L near-duplicate threshold, so a build can meet its targets.
--delay-ms MS   every chat answer (errors and faults included) waits MS before it is sent.
--canned        no JSON parsing and, without --faults/--log, no hashing: every authorised chat POST
                gets one precomputed reply (model "canned", N examples for key "canned"); faults
                and the log still work, built from that reply. For throughput benchmarks.
--log FILE      appends one JSON line per chat request, flushed before the response is sent:
                {"key", "attempt", "fault": name|null, "status": sent|null, "answered": true only for
                a complete well-formed 200 (normal or length), "auth": "ok"|"missing"|"wrong"|"none",
                "t": time.time()}. `slow` is logged on arrival (status null, answered false; the late
                answer is not logged); with --delay-ms a line is written when the answer is due, and
                says status null, answered false if the client has gone by then. The API key and the
                Authorization header are never written anywhere.
"""
import argparse
import asyncio
import hashlib
import json
import signal
import sys
import time

FAULT_NAMES = ("429", "500", "503", "408", "slow", "malformed", "truncated", "close", "length", "400")
TRANSIENT = frozenset(("429", "500", "503", "408", "slow", "malformed", "truncated", "close"))
REASONS = {100: "Continue", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           408: "Request Timeout", 411: "Length Required", 413: "Payload Too Large",
           429: "Too Many Requests", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 503: "Service Unavailable"}
MAX_HEAD = 64 * 1024
MAX_BODY = 256 * 1024 * 1024
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
KEEP = b""  # HTTP/1.1 keep-alive: no Connection header
CLOSE = b"Connection: close\r\n"
KEEP10 = b"Connection: keep-alive\r\n"
JSON_TYPE = b"application/json"


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def error_json(message, type_, code=None, with_code=True):
    err = {"message": message, "type": type_}
    if with_code:
        err["code"] = code
    return compact({"error": err}).encode()


UNAUTHORIZED = error_json("Incorrect API key provided", "invalid_request_error", "invalid_api_key")
RATE_LIMITED = error_json("Rate limit reached for requests", "requests", "rate_limit_exceeded")
CONTEXT_400 = error_json("This model's maximum context length is 4097 tokens (fault 400)",
                         "invalid_request_error", "context_length_exceeded")
SERVER_ERRORS = {s: error_json("The server had an error while processing your request (fault %s)" % s,
                               "server_error", with_code=False) for s in ("500", "503", "408")}


def head(status, length, conn, ctype=JSON_TYPE, extra=b""):
    return b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s%s\r\n" % (
        status, REASONS[status].encode(), ctype, length, extra, conn)


def response(status, body, conn, ctype=JSON_TYPE, extra=b""):
    return head(status, len(body), conn, ctype, extra) + body


def judge_reply(key):
    """A judge's answer, from the key: u = int(key[8:10], 16); u % 8 == 7 gives no grade."""
    u = int(key[8:10], 16)
    if u % 8 == 7:
        return "I would rather not grade this one (%s)." % key[:8]
    return "Grade: %s\nReason %s." % ("ABCD"[u % 4], key[:8])


def reply_body(key, model, content, finish, prompt_len):
    try:
        text = json.dumps(content, ensure_ascii=False).encode()
        size = len(content.encode())
    except UnicodeEncodeError:  # lone surrogates: keep the JSON ASCII
        text = json.dumps(content).encode()
        size = len(content.encode("utf-8", "surrogatepass"))
    p = max(1, prompt_len // 4)
    c = max(1, size // 4)
    return b"".join((
        b'{"id":"chatcmpl-', key[:24].encode(), b'","object":"chat.completion","created":1700000000,"model":',
        json.dumps(model, ensure_ascii=False).encode("utf-8", "surrogatepass"),
        b',"choices":[{"index":0,"message":{"role":"assistant","content":', text,
        b'},"finish_reason":"', finish.encode(), b'"}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,'
        b'"total_tokens":%d}}' % (p, c, p + c)))


WORDS = ("river", "planet", "violin", "harvest", "glacier", "lantern", "market", "orbit", "pepper", "canyon",
         "saddle", "thunder", "marble", "ferry", "compass", "meadow", "rocket", "velvet", "island", "anchor",
         "desert", "falcon", "garden", "helmet", "jungle", "kettle", "ladder", "mirror", "needle", "oyster",
         "pillow", "quartz", "ribbon", "signal", "tunnel", "umbrella", "valley", "walnut", "yogurt", "zipper",
         "bridge", "candle", "dragon", "engine", "forest", "ginger", "hammer", "insect", "jacket", "kitten",
         "lemon", "magnet", "nickel", "office", "parrot", "rabbit", "shadow", "ticket", "vessel", "window",
         "autumn", "butter", "copper", "donkey")


def examples(k8, n, cut, diverse=False):
    if diverse:  # 8 words each from a hash of the key: near-duplicates are rare, as real replies
        lines = []
        for i in range(1, n + 1):
            h = hashlib.sha256(("%s/%d" % (k8, i)).encode()).digest()
            lines.append("<example>Describe the %s.</example>" % " ".join(WORDS[b % len(WORDS)] for b in h[:8]))
    else:
        lines = ["<example>Instruction %s number %d: explain topic %d.</example>" % (k8, i, i) for i in range(1, n + 1)]
    if cut:
        lines[-1] = "<example>Instruction %s number %d: explain to" % (k8, n)
    return "\n".join(lines)


def message_text(content):
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):  # content parts: [{"type": "text", "text": "..."}]
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text", ""), str))
    return None


class Teacher:
    def __init__(self, args):
        self.canned = args.canned
        self.examples = args.examples
        self.diverse = args.diverse
        self.api_key = args.api_key
        self.delay = max(0.0, args.delay_ms / 1000.0)
        self.slow = max(0.0, args.slow_seconds)
        self.retry_after = str(args.retry_after).encode()
        self.fault_attempts = args.fault_attempts
        self.ranges = parse_faults(args.faults)
        self.logf = open(args.log, "a", encoding="utf-8") if args.log else None
        self.need_key = not self.canned or bool(self.ranges) or self.logf is not None
        self.fast = self.canned and not self.need_key and self.api_key is None and self.delay == 0
        self.attempts = {}
        self.conns = set()
        content = examples("canned", self.examples, False)
        self.canned_body = reply_body("canned", "canned", content, "stop", 4)
        self.canned_length = reply_body("canned", "canned", examples("canned", self.examples, True), "length", 4)
        self.canned_keep = response(200, self.canned_body, KEEP)

    def fault_for(self, key, attempt):
        if not self.ranges:
            return None
        u = int(key[:8], 16) / 4294967296.0
        for name, lo, hi in self.ranges:
            if lo <= u < hi:
                if name in TRANSIENT and attempt > self.fault_attempts:
                    return None
                return name
        return None

    def log(self, key, attempt, fault, status, answered, auth):
        if self.logf is not None:
            self.logf.write(compact({"key": key, "attempt": attempt, "fault": fault, "status": status,
                                     "answered": answered, "auth": auth, "t": time.time()}) + "\n")
            self.logf.flush()


def parse_faults(spec):
    ranges = []
    lo = 0.0
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, prob = item.partition(":")
        name = name.strip()
        if not sep or name not in FAULT_NAMES:
            raise ValueError("bad fault %r (want NAME:PROBABILITY, NAME one of %s)" % (item, " ".join(FAULT_NAMES)))
        p = float(prob)
        if not 0.0 <= p <= 1.0:
            raise ValueError("bad probability in %r" % item)
        ranges.append((name, lo, lo + p))
        lo += p
    if lo > 1.0 + 1e-9:
        raise ValueError("fault probabilities add up to %g > 1" % lo)
    return ranges


class Connection(asyncio.Protocol):
    __slots__ = ("srv", "t", "buf", "req", "busy", "closed", "paused")

    def __init__(self, srv):
        self.srv = srv
        self.t = None
        self.buf = b""
        self.req = None  # parsed head waiting for its body: (method, target, conn, auth, body_start, end)
        self.busy = False  # an answer is waiting on a timer; later requests wait behind it
        self.closed = False
        self.paused = False

    def connection_made(self, transport):
        self.t = transport
        self.srv.conns.add(self)

    def connection_lost(self, exc):
        self.closed = True
        self.srv.conns.discard(self)

    def pause_writing(self):
        self.paused = True
        if not self.closed:
            self.t.pause_reading()

    def resume_writing(self):
        self.paused = False
        if not self.closed:
            self.t.resume_reading()
            self.process()

    def data_received(self, data):
        if self.buf:
            self.buf += data
        else:
            self.buf = data
        if not (self.busy or self.paused):
            self.process()

    def eof_received(self):
        return False  # close our side too once the client has finished sending

    def fail(self, status, message):
        """A request we cannot frame: answer and close."""
        if not self.closed:
            self.t.write(response(status, error_json(message, "invalid_request_error"), CLOSE))
            self.close()

    def close(self):
        self.closed = True
        self.buf = b""
        self.t.close()

    def process(self):
        try:
            while not (self.busy or self.closed or self.paused):
                req = self.req
                buf = self.buf
                if req is None:
                    if not buf:
                        return
                    if buf[0] in (13, 10):  # stray CRLFs between requests
                        buf = self.buf = buf.lstrip(b"\r\n")
                        if not buf:
                            return
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        if len(buf) > MAX_HEAD:
                            self.fail(431, "Request headers too large")
                        return
                    req = self.parse_head(buf, end)
                    if req is None:
                        return
                    self.req = req
                stop = req[5]
                if len(buf) < stop:
                    return
                body = buf[req[4]:stop]
                self.buf = buf[stop:]
                self.req = None
                self.handle(req, body)
        except Exception as e:  # a bug here must not kill the server
            print("fault_teacher: internal error: %r" % (e,), file=sys.stderr, flush=True)
            if not self.closed:
                self.t.write(response(500, error_json("internal error in fault_teacher", "server_error"), CLOSE))
                self.close()

    def parse_head(self, buf, end):
        lines = buf[:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
            self.fail(400, "Malformed request line")
            return None
        method, target, version = parts
        if version == "HTTP/1.1":
            conn = KEEP
        elif version == "HTTP/1.0":
            conn = CLOSE
        else:
            self.fail(400, "Unsupported HTTP version")
            return None
        length = None
        chunked = expect = False
        auth = None
        for i in range(1, len(lines)):
            line = lines[i]
            c = line.find(":")
            if c <= 0:
                self.fail(400, "Malformed header line")
                return None
            name = line[:c].lower()
            if name == "content-length":
                v = line[c + 1:].strip()
                if not v.isdigit() or (length is not None and int(v) != length):
                    self.fail(400, "Bad Content-Length")
                    return None
                length = int(v)
            elif name == "connection":
                tokens = line[c + 1:].lower()
                if "close" in tokens:
                    conn = CLOSE
                elif "keep-alive" in tokens and version == "HTTP/1.0":
                    conn = KEEP10
            elif name == "authorization":
                auth = line[c + 1:].strip()
            elif name == "transfer-encoding":
                chunked = True
            elif name == "expect":
                expect = line[c + 1:].strip().lower() == "100-continue"
        if chunked:
            self.fail(411, "Chunked request bodies are not supported; send Content-Length")
            return None
        if length is None:
            length = 0
        if length > MAX_BODY:
            self.fail(413, "Request body too large")
            return None
        if expect and version == "HTTP/1.1":
            self.t.write(CONTINUE)
        return (method, target, conn, auth, end + 4, end + 4 + length)

    def handle(self, req, body):
        method, target, conn = req[0], req[1], req[2]
        q = target.find("?")
        path = target if q < 0 else target[:q]
        if path == "/v1/chat/completions" and method == "POST":
            srv = self.srv
            if srv.fast:
                if conn is KEEP:
                    self.t.write(srv.canned_keep)
                else:
                    self.send(response(200, srv.canned_body, conn), conn)
                return
            self.chat(body, req[3], conn)
        elif path == "/health" and method in ("GET", "HEAD"):
            data = response(200, b"ok", conn, b"text/plain")
            self.send(data[:-2] if method == "HEAD" else data, conn)
        else:
            self.send(response(404, error_json("Not found: %s %s" % (method, path), "invalid_request_error",
                                               "not_found"), conn), conn)

    def send(self, data, conn):
        self.t.write(data)
        if conn is CLOSE:
            self.close()

    def chat(self, body, authorization, conn):
        srv = self.srv
        key = attempt = None
        if srv.need_key:
            key = hashlib.sha256(body).hexdigest()
            attempt = srv.attempts.get(key, 0) + 1
            srv.attempts[key] = attempt
        if srv.api_key is None:
            auth = "none"
        elif authorization is None:
            auth = "missing"
        else:
            scheme, _, token = authorization.partition(" ")
            auth = "ok" if scheme.lower() == "bearer" and token.strip() == srv.api_key else "wrong"
        if auth in ("missing", "wrong"):
            return self.answer((key, attempt, None, 401, False, auth), response(401, UNAUTHORIZED, conn), conn)

        if srv.canned:
            normal = srv.canned_body
            length_body = None
        else:
            parsed = self.parse_chat(body, key)
            if isinstance(parsed, bytes):  # an error body
                return self.answer((key, attempt, None, 400, False, auth), response(400, parsed, conn), conn)
            model, text = parsed
            instruction = "<example>" in text
            if instruction:
                content = examples(key[:8], srv.examples, False, srv.diverse)
            elif b"Grade: A" in body:
                content = judge_reply(key)
            else:
                content = "Answer %s: %s" % (key[:12], text[:40])
            normal = reply_body(key, model, content, "stop", len(body))
            length_body = None

        fault = srv.fault_for(key, attempt) if key is not None else None
        if fault is None:
            return self.answer((key, attempt, None, 200, True, auth), response(200, normal, conn), conn)
        if fault == "length":
            if srv.canned:
                length_body = srv.canned_length
            elif instruction:
                length_body = reply_body(key, model, examples(key[:8], srv.examples, True, srv.diverse), "length", len(body))
            else:
                length_body = reply_body(key, model, content[:max(1, len(content) // 2)], "length", len(body))
            return self.answer((key, attempt, fault, 200, True, auth), response(200, length_body, conn), conn)
        if fault == "429":
            data = response(429, RATE_LIMITED, conn, extra=b"Retry-After: " + srv.retry_after + b"\r\n")
            return self.answer((key, attempt, fault, 429, False, auth), data, conn)
        if fault in SERVER_ERRORS:
            status = int(fault)
            return self.answer((key, attempt, fault, status, False, auth), response(status, SERVER_ERRORS[fault], conn), conn)
        if fault == "400":
            return self.answer((key, attempt, fault, 400, False, auth), response(400, CONTEXT_400, conn), conn)
        if fault == "malformed":
            data = response(200, normal[:len(normal) // 2], conn)
            return self.answer((key, attempt, fault, 200, False, auth), data, conn)
        if fault == "truncated":
            data = head(200, len(normal), conn) + normal[:len(normal) // 2]
            return self.answer((key, attempt, fault, 200, False, auth), data, CLOSE)
        if fault == "close":
            return self.answer((key, attempt, fault, None, False, auth), b"", CLOSE)
        if fault == "slow":
            srv.log(key, attempt, fault, None, False, auth)
            return self.answer(None, response(200, normal, conn), conn, srv.slow)
        raise AssertionError(fault)

    @staticmethod
    def parse_chat(body, key):
        try:
            obj = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return error_json("We could not parse the JSON body of your request.", "invalid_request_error")
        if not isinstance(obj, dict):
            return error_json("The request body must be a JSON object.", "invalid_request_error")
        messages = obj.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
            return error_json("'messages' must be a non-empty array of message objects.", "invalid_request_error")
        text = message_text(messages[-1].get("content"))
        if text is None:
            return error_json("The last message's 'content' must be a string or an array of parts.",
                              "invalid_request_error")
        return obj.get("model"), text

    def answer(self, record, data, conn, wait=0.0):
        """Logs `record` (key, attempt, fault, status, answered, auth), sends `data`, closes if `conn`
        says so; all after `wait` + --delay-ms."""
        wait += self.srv.delay
        if wait > 0:
            self.busy = True
            asyncio.get_running_loop().call_later(wait, self.answer_later, record, data, conn)
        else:
            self.emit(record, data, conn)

    def answer_later(self, record, data, conn):
        try:
            if self.closed:  # the client gave up while we waited
                if record is not None:
                    self.srv.log(record[0], record[1], record[2], None, False, record[5])
                return
            self.busy = False
            self.emit(record, data, conn)
            self.process()
        except Exception as e:
            print("fault_teacher: internal error: %r" % (e,), file=sys.stderr, flush=True)

    def emit(self, record, data, conn):
        if record is not None:
            self.srv.log(*record)
        if data:
            self.t.write(data)
        if conn is CLOSE:
            self.close()


def main():
    ap = argparse.ArgumentParser(description="A misbehaving OpenAI-compatible chat-completions server.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--faults", default="")
    ap.add_argument("--fault-attempts", type=int, default=1)
    ap.add_argument("--api-key")
    ap.add_argument("--slow-seconds", type=float, default=5.0)
    ap.add_argument("--retry-after", default="1")
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--canned", action="store_true")
    ap.add_argument("--examples", type=int, default=3)
    ap.add_argument("--diverse", action="store_true")
    args = ap.parse_args()
    if args.examples < 1:
        ap.error("--examples must be at least 1")
    try:
        srv = Teacher(args)
    except (ValueError, OSError) as e:
        ap.error(str(e))

    async def serve():
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        server = await loop.create_server(lambda: Connection(srv), "127.0.0.1", args.port, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        await stop.wait()
        server.close()
        for c in list(srv.conns):
            c.closed = True
            c.t.abort()

    asyncio.run(serve())
    if srv.logf is not None:
        srv.logf.close()


if __name__ == "__main__":
    main()
