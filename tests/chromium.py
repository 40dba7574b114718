"""Real headless Chromium over the DevTools protocol: open a page, run JavaScript in it, wait for what a reader
would see, take a screenshot; and the report of a local HTML file (every image's load state and every console
error, failed request or uncaught exception).

Debian's ``chromium`` package (``scripts/install_chromium.sh``) and the ``websocket-client`` package.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-allow-origins=*")
IMAGES_JS = ("JSON.stringify(Array.from(document.images).map(i => ({src: i.getAttribute('src'), complete: i.complete, "
             "width: i.naturalWidth, height: i.naturalHeight})))")


@dataclass
class PageReport:
    images: list[dict] = field(default_factory=list)  # src, complete, width, height
    errors: list[str] = field(default_factory=list)  # console errors, failed loads, exceptions
    title: str = ""


def available() -> bool:
    return Path(CHROMIUM).is_file()


class Tab:
    """One page of a running Chromium; every event it sees while waiting is collected into ``report``."""

    def __init__(self, ws, timeout: float):
        self.ws, self.timeout = ws, timeout
        self.report = PageReport()
        self._ids = iter(range(1, 1_000_000))

    def call(self, method: str, **params) -> dict:
        """Send a DevTools command and return its result."""
        i = next(self._ids)
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        msg = self._wait(lambda m: m.get("id") == i, method)
        if "error" in msg:
            raise RuntimeError(f"chromium: {method}: {msg['error']}")
        return msg.get("result", {})

    def goto(self, url: str) -> None:
        """Navigate to ``url`` and wait for its load event."""
        self.call("Page.navigate", url=url)
        self._wait(lambda m: m.get("method") == "Page.loadEventFired", "load event")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"chromium: {expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float | None = None) -> Any:
        """Evaluate ``expression`` every half second until it is truthy; returns that value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.5)
        raise TimeoutError(f"chromium: {what} did not appear within {timeout or self.timeout:.0f}s")

    def screenshot(self, path: Path) -> Path:
        """The viewport as a PNG."""
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def _wait(self, pred, what: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            _collect(msg, self.report)
            if pred(msg):
                return msg
        raise TimeoutError(f"chromium: no {what} within {self.timeout:.0f}s")


@contextmanager
def tab(timeout: float = 60.0, width: int = 1600, height: int = 900) -> Iterator[Tab]:
    """A fresh headless Chromium (its own profile, so no saved UI state) with one tab of ``width`` x ``height``."""
    import websocket

    profile = Path(tempfile.mkdtemp(prefix="genstudy-chromium-"))
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = _port(profile, proc, timeout)
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout)
        try:
            t = Tab(ws, timeout)
            for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
                t.call(method)
            t.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
            yield t
        finally:
            ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(path: Path, timeout: float = 60.0) -> PageReport:
    """Load ``path`` (a local HTML file) in headless Chromium and collect images and errors."""
    with tab(timeout) as t:
        t.goto(path.resolve().as_uri())
        t.report.images = json.loads(t.evaluate(IMAGES_JS))
        t.report.title = t.evaluate("document.title")
        return t.report


def _port(profile: Path, proc: subprocess.Popen, timeout: float) -> int:
    """Chromium writes the port it chose into DevToolsActivePort in its profile folder."""
    deadline = time.monotonic() + timeout
    marker = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with code {proc.returncode} before opening its DevTools port")
        if marker.is_file() and marker.read_text().strip():
            return int(marker.read_text().splitlines()[0])
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def _collect(msg: dict, report: PageReport) -> None:
    method, params = msg.get("method"), msg.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        report.errors.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
    elif method == "Runtime.exceptionThrown":
        report.errors.append("exception: " + params["exceptionDetails"].get("text", ""))
    elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
        report.errors.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
    elif method == "Network.loadingFailed":
        report.errors.append(f"network: {params.get('errorText')} ({params.get('type')})")
