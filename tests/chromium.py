"""Open a page in real headless Chromium over the DevTools protocol and report what a reader would see:
every image's load state and every console error, failed request or uncaught exception.

Debian's ``chromium`` package (``scripts/install_chromium.sh``) and the ``websocket-client`` package.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

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


def open_page(path: Path, timeout: float = 60.0) -> PageReport:
    """Load ``path`` (a local HTML file) in headless Chromium and collect images and errors."""
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
            return _load(ws, path.resolve().as_uri(), timeout)
        finally:
            ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


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


def _load(ws, url: str, timeout: float) -> PageReport:
    report = PageReport()
    ids = iter(range(1, 10_000))

    def send(method: str, **params) -> int:
        i = next(ids)
        ws.send(json.dumps({"id": i, "method": method, "params": params}))
        return i

    def wait(pred, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            _collect(msg, report)
            if pred(msg):
                return msg
        raise TimeoutError(f"chromium: no {what} within {timeout:.0f}s")

    for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
        i = send(method)
        wait(lambda m, i=i: m.get("id") == i, method)
    send("Page.navigate", url=url)
    wait(lambda m: m.get("method") == "Page.loadEventFired", "load event")
    i = send("Runtime.evaluate", expression=IMAGES_JS, returnByValue=True)
    report.images = json.loads(wait(lambda m: m.get("id") == i, "image list")["result"]["result"]["value"])
    i = send("Runtime.evaluate", expression="document.title", returnByValue=True)
    report.title = wait(lambda m: m.get("id") == i, "title")["result"]["result"]["value"]
    return report


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
