#!/usr/bin/env python3
"""Drives the rating app's page in headless Chromium through the DevTools protocol (stdlib only).

  python3 drive_rating_page.py URL CHROMIUM OUT.json

Opens URL, presses keys as a reviewer would, and after each step records what the page shows.
Writes {"snapshots": [{"step", "status", "position", "progress", "note", "chosen", "instruction",
"input_hidden", "message"}], "errors": [console errors and uncaught exceptions]} to OUT.json.
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request


class DevTools:
    """A minimal WebSocket client (RFC 6455, masked text frames) speaking CDP to one page."""

    def __init__(self, ws_url):
        rest = ws_url[len("ws://"):]
        hostport, path = rest.split("/", 1)
        host, port = hostport.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("websocket handshake failed: %r" % head)
        self.next_id = 0
        self.events = []

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise RuntimeError("devtools closed the connection")
            data += chunk
        return data

    def _recv_message(self):
        message = b""
        while True:
            b0, b1 = self._recv_exact(2)
            length = b1 & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._recv_exact(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._recv_exact(8))[0]
            payload = self._recv_exact(length)
            opcode = b0 & 0x0F
            if opcode == 8:
                raise RuntimeError("devtools closed the websocket")
            if opcode in (9, 10):
                continue
            message += payload
            if b0 & 0x80:
                return json.loads(message)

    def call(self, method, **params):
        self.next_id += 1
        data = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        elif len(data) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
        while True:
            message = self._recv_message()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")


KEYS = {
    "Escape": ("Escape", "Escape", 27, None),
    "ArrowLeft": ("ArrowLeft", "ArrowLeft", 37, None),
    "ArrowRight": ("ArrowRight", "ArrowRight", 39, None),
}


def press(tools, key):
    if key in KEYS:
        name, code, vk, text = KEYS[key]
    else:
        name, code, vk, text = key, ("Digit" + key if key.isdigit() else "Key" + key.upper()), ord(key.upper()), key
    down = {"type": "keyDown" if text else "rawKeyDown", "key": name, "code": code, "windowsVirtualKeyCode": vk}
    if text:
        down["text"] = text
    tools.call("Input.dispatchKeyEvent", **down)
    tools.call("Input.dispatchKeyEvent", type="keyUp", key=name, code=code, windowsVirtualKeyCode=vk)


def wait_ready(tools, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = tools.evaluate("document.body ? document.body.dataset.status : ''")
        if status in ("ready", "error"):
            return status
        time.sleep(0.02)
    raise RuntimeError("the page never became ready")


SNAPSHOT = """JSON.stringify({
  status: document.body.dataset.status,
  position: document.getElementById("position").textContent,
  progress: document.getElementById("progress-text").textContent,
  note: document.getElementById("note").value,
  chosen: Array.from(document.querySelectorAll("#grades button.chosen")).map(b => b.dataset.grade),
  instruction: document.getElementById("instruction").textContent,
  input_hidden: document.getElementById("input-box").hidden,
  message: document.getElementById("status").textContent,
  visible: document.getElementById("response").getBoundingClientRect().height > 0
})"""


def main():
    url, chromium, out = sys.argv[1:4]
    profile = tempfile.mkdtemp(prefix="herd-chromium-")
    browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--disable-dev-shm-usage", "--remote-debugging-port=0", "--user-data-dir=" + profile,
                                "--window-size=1200,900", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not (os.path.exists(port_file) and open(port_file).read().count("\n") >= 1):
            if time.time() > deadline or browser.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(open(port_file).read().split("\n")[0])
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        tools.call("Runtime.enable")
        tools.call("Log.enable")
        tools.call("Page.enable")
        snapshots = []

        def snap(step):
            wait_ready(tools)
            s = json.loads(tools.evaluate(SNAPSHOT))
            s["step"] = step
            snapshots.append(s)

        tools.call("Page.navigate", url=url)
        time.sleep(0.1)
        snap("opened")
        press(tools, "b"); snap("rated B")
        press(tools, "n")
        tools.call("Input.insertText", text='typo, "quoted"')
        press(tools, "Escape")
        press(tools, "3"); snap("rated C with a note")
        press(tools, "u"); snap("undone")
        press(tools, "a"); snap("rated A")
        press(tools, "ArrowLeft"); snap("back")
        press(tools, "d"); snap("changed to D")
        press(tools, "u"); snap("undone to A")
        tools.call("Page.reload")
        time.sleep(0.1)
        snap("reloaded")

        errors = []
        for e in tools.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                errors.append(params.get("exceptionDetails", {}).get("text", "exception"))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                errors.append(params["entry"].get("text", ""))
        with open(out, "w") as f:
            json.dump({"snapshots": snapshots, "errors": errors}, f, indent=1)
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
