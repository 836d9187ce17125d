"""The HTML report in a real browser: headless Chromium driven over the DevTools protocol
(a minimal WebSocket client from the standard library, no selenium). Checks that the page
renders without console errors, exceptions or network requests, and that every plot is
drawn with a visible size. Skips when Chromium is not installed (Debian: `apt-get install
chromium`; `.ci/run` installs it); set TUNELINT_CHROMIUM to use another binary."""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request

import pytest

from tunelint.cli import main

HERE = os.path.dirname(__file__)
CHAT = os.path.join(HERE, "..", "fixtures", "report", "chat.jsonl")


def _chromium() -> str | None:
    env = os.environ.get("TUNELINT_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium chromium-driver)")


class WS:
    """Just enough of RFC 6455 for the DevTools protocol (text frames, client masking)."""

    def __init__(self, url: str, timeout: float = 30):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        resp = b""
        while b"\r\n\r\n" not in resp:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake failed")
            resp += chunk
        head, _, self.buf = resp.partition(b"\r\n\r\n")
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.next_id = 0

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, obj) -> None:
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
                                if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self) -> dict:
        payload = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload += self._read(n)
            if b0 & 0x80:
                return json.loads(payload)

    def call(self, method: str, events: list, **params) -> dict:
        self.next_id += 1
        mid = self.next_id
        self.send({"id": mid, "method": method, "params": params})
        while True:
            msg = self.recv()
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            events.append(msg)

    def wait_for(self, method: str, events: list, timeout: float = 30) -> None:
        end = time.time() + timeout
        while time.time() < end:
            msg = self.recv()
            events.append(msg)
            if msg.get("method") == method:
                return
        raise TimeoutError(method)


PLOTS_JS = """JSON.stringify(Array.from(document.querySelectorAll('svg.plot')).map(s => {
  const r = s.getBoundingClientRect();
  const drawn = s.querySelectorAll('path, rect, use').length;
  const st = getComputedStyle(s);
  return {w: r.width, h: r.height, drawn: drawn, display: st.display, visibility: st.visibility,
          label: s.getAttribute('aria-label')};
}))"""


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    d = tmp_path_factory.mktemp("browser")
    html = d / "report.html"
    try:
        main(["report", CHAT, "--isolated", "--html", str(html), "--max-tokens", "1000"])
    except SystemExit as e:
        assert not e.code
    profile = tempfile.mkdtemp(prefix="tunelint-chromium-")
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1200,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        end = time.time() + 60
        while not (os.path.exists(port_file) and open(port_file).read().count("\n") >= 1):
            if time.time() > end or proc.poll() is not None:
                pytest.fail("Chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        ws = WS(pages[0]["webSocketDebuggerUrl"])
        events: list = []
        for m in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            ws.call(m, events)
        ws.call("Page.navigate", events, url="file://" + str(html))
        ws.wait_for("Page.loadEventFired", events)
        plots = json.loads(ws.call("Runtime.evaluate", events, expression=PLOTS_JS, returnByValue=True)["result"]["value"])
        title = ws.call("Runtime.evaluate", events, expression="document.title", returnByValue=True)["result"]["value"]
        shot = ws.call("Page.captureScreenshot", events, format="png")["data"]
        ws.sock.close()
        yield {"events": events, "plots": plots, "title": title, "png": base64.b64decode(shot), "html": html}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def test_renders_without_console_errors(browser_page):
    ev = browser_page["events"]
    errors = [e["params"] for e in ev if e.get("method") == "Runtime.exceptionThrown"]
    errors += [e["params"] for e in ev if e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") in ("error", "assert")]
    errors += [e["params"]["entry"] for e in ev if e.get("method") == "Log.entryAdded" and e["params"]["entry"].get("level") == "error"]
    assert not errors, errors
    assert browser_page["title"].startswith("tunelint report")


def test_no_network_requests(browser_page):
    urls = [e["params"]["request"]["url"] for e in browser_page["events"] if e.get("method") == "Network.requestWillBeSent"]
    assert all(u.startswith("file://") for u in urls), urls  # only the page itself


def test_plots_are_visible(browser_page):
    plots = browser_page["plots"]
    labels = [p["label"] for p in plots]
    assert "token length histogram" in labels and "findings per family" in labels
    assert len(plots) >= 8
    for p in plots:
        assert p["w"] > 100 and p["h"] > 50, p
        assert p["display"] != "none" and p["visibility"] == "visible", p
        assert p["drawn"] > 3, p  # axes, bars and lines were drawn
    png = browser_page["png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000  # a real, non-blank capture
