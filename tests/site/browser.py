"""Load the built website's pages in headless Chromium and report what went wrong on each.

The site is served from a local folder on 127.0.0.1 (or opened as ``file://``); every
request that would leave the machine is failed by the browser (DevTools ``Fetch`` domain) and
reported, so a page that needs the network fails its check. The browser is driven over the
Chrome DevTools Protocol with ``websocket-client`` (already in the book's environment), so the
check needs nothing beyond Debian's ``chromium`` package.

For every page :func:`check_pages` returns a :class:`PageReport`: console errors and
uncaught exceptions, failed requests (network errors and HTTP status >= 400), requests blocked
because they left localhost, images that did not load, TeX left unrendered, MathJax error
nodes, and the number of headings. ``PageReport.problems()`` lists them as sentences.

Run by hand:  ``.venv/bin/python tests/site/browser.py _build/html``.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import websocket

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}

#: Flags for headless Chromium in a sandboxed (container, CI) root environment, with every
#: background service that would talk to the network switched off.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    "--password-store=basic",
    "--use-mock-keychain",
    "--window-size=1280,900",
)

# Runs in the page once it has loaded: waits for MathJax and the images, then collects.
COLLECT_JS = r"""
(async () => {
  const report = {mathjax: "absent", mathjax_errors: [], raw_tex: [], broken_images: [], failed_fonts: [],
                  headings: 0, math_elements: 0, typeset: 0, title: document.title};
  for (const img of document.images) { img.loading = "eager"; }
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  if (window.MathJax) {
    // The configuration object exists before the component has loaded; give it a moment.
    for (let i = 0; i < 100 && !(MathJax.startup && MathJax.startup.promise); i++) { await wait(50); }
    if (MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
      report.mathjax = "loaded";
    } else {
      report.mathjax = "configured but never loaded";
    }
  }
  await Promise.all(Array.from(document.images).map((img) => img.complete ? null :
    new Promise((r) => { img.addEventListener("load", r); img.addEventListener("error", r);
                         setTimeout(r, 5000); })));
  if (document.fonts) { await document.fonts.ready; }
  for (const img of document.images) {
    if (!img.complete || img.naturalWidth === 0) {
      report.broken_images.push(img.getAttribute("src") || img.currentSrc || "(no src)");
    }
  }
  if (document.fonts) {
    for (const font of document.fonts) {
      if (font.status === "error") { report.failed_fonts.push(font.family); }
    }
  }
  report.headings = document.querySelectorAll("h1, h2, h3, h4, h5, h6").length;
  // Math Sphinx emitted: every such element must now hold MathJax's output.
  const mathEls = document.querySelectorAll(".math, .MathJax_Preview");
  report.math_elements = mathEls.length;
  for (const el of mathEls) {
    if (!el.querySelector("mjx-container")) {
      report.raw_tex.push(el.textContent.trim().slice(0, 80));
    }
  }
  // TeX delimiters left anywhere in the text (outside code, scripts and MathJax's output).
  const skip = "script, style, pre, code, textarea, kbd, samp, mjx-container, .highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  // \( \) \[ \] $$ \begin{ \end{, or $...$ holding a TeX command, ^ or _ (not "$5 or $10").
  const delimiters = /\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\\end\{|\$[^$\n]*(\\[A-Za-z]+|[\^_])[^$\n]*\$/;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) { continue; }
    if (delimiters.test(node.textContent)) {
      const text = node.textContent.trim().slice(0, 80);
      if (!report.raw_tex.includes(text)) { report.raw_tex.push(text); }
    }
  }
  for (const el of document.querySelectorAll("mjx-merror, [data-mjx-error]")) {
    report.mathjax_errors.push(el.getAttribute("data-mjx-error") || el.textContent.slice(0, 80));
  }
  if (report.mathjax === "loaded" && MathJax.startup.document) {
    for (const item of MathJax.startup.document.math) {
      report.typeset += 1;
      const mml = MathJax.startup.toMML(item.root);
      // <merror>: a TeX error; red <mtext>: an undefined control sequence (noundefined).
      if (mml.includes("<merror") || /<mtext[^>]*mathcolor="red"/.test(mml)) {
        report.mathjax_errors.push(String(item.math).slice(0, 80));
      }
    }
  }
  return report;
})()
"""


SETTLED_JS = """(() => document.readyState === "complete"
  && !document.querySelector('meta[http-equiv="refresh" i]') ? "settled" : "loading")()"""


class BrowserError(RuntimeError):
    """Chromium could not be started or did not answer."""


def find_chromium() -> str | None:
    """The Chromium executable: $CHROMIUM, else chromium / chromium-browser / google-chrome."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    """What happened when one page was loaded."""

    page: str
    url: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    failed_fonts: list[str] = field(default_factory=list)
    raw_tex: list[str] = field(default_factory=list)
    mathjax_errors: list[str] = field(default_factory=list)
    mathjax: str = "absent"
    headings: int = 0
    math_elements: int = 0
    typeset: int = 0
    images: int = 0
    final_url: str = ""
    error: str = ""

    def problems(self) -> list[str]:
        out = []
        if self.error:
            out.append(f"the page could not be checked to the end: {self.error}")
        out += [f"console error: {m}" for m in self.console_errors]
        out += [f"failed request: {m}" for m in self.failed_requests]
        out += [f"request left localhost (blocked): {m}" for m in self.blocked_requests]
        out += [f"image did not load: {m}" for m in self.broken_images]
        out += [f"web font did not load: {m}" for m in self.failed_fonts]
        out += [f"TeX not rendered by MathJax: {m!r}" for m in self.raw_tex]
        out += [f"MathJax error: {m!r}" for m in self.mathjax_errors]
        if self.math_elements and self.mathjax != "loaded":
            out.append(f"the page has {self.math_elements} math elements but MathJax is {self.mathjax}")
        if not self.error and self.headings < 1:
            out.append("no heading on the page")
        return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _allowed(url: str, allow_file: bool) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    if parts.scheme == "file":
        return allow_file
    return parts.scheme in ("http", "https", "ws") and (parts.hostname or "") in LOCAL_HOSTS


class Browser:
    """One headless Chromium, one tab, driven over the DevTools protocol."""

    def __init__(self, executable: str | None = None, *, allow_file: bool = False, offline: bool = False,
                 color_scheme: str | None = None, timeout: float = 30.0):
        self.executable = executable or find_chromium()
        if not self.executable:
            raise BrowserError("Chromium not found: run scripts/install-browser.sh or set CHROMIUM")
        self.allow_file = allow_file
        self.offline = offline
        self.color_scheme = color_scheme
        self.timeout = timeout
        self._next_id = 0
        self._events: list[dict] = []
        self._page: PageReport | None = None
        self._requests: dict[str, str] = {}

    # -- process and connection ------------------------------------------------------------
    def __enter__(self) -> Browser:
        self._profile = tempfile.mkdtemp(prefix="lossbook-chromium-")
        cmd = [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}",
               "--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank"]
        # Chromium's own log goes to a file: a pipe nobody reads would fill up and stall it.
        self._log = open(Path(self._profile) / "chromium.log", "wb")  # noqa: SIM115 - closed in _cleanup
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self._log)
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self._proc.poll() is not None:
                err = (Path(self._profile) / "chromium.log").read_bytes().decode(errors="replace")[-2000:]
                self._cleanup()
                raise BrowserError(f"Chromium exited with {self._proc.returncode}: {err}")
            if time.monotonic() > deadline:
                self._cleanup()
                raise BrowserError("Chromium did not open its DevTools port")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self._ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=self.timeout,
                                               suppress_origin=True)
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=True)
        self.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=True)
        if self.offline:
            self.send("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                      "downloadThroughput": -1, "uploadThroughput": -1}, session=True)
        if self.color_scheme:
            self.send("Emulation.setEmulatedMedia", {"features": [
                {"name": "prefers-color-scheme", "value": self.color_scheme}]}, session=True)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=True)
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close", timeout=5)
        with contextlib.suppress(Exception):
            self._ws.close()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    # -- protocol ----------------------------------------------------------------------------
    def _post(self, method: str, params: dict | None = None, session: bool = False) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        self._ws.send(json.dumps(message))
        return self._next_id

    def _receive(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self._ws.settimeout(remaining)
        try:
            message = json.loads(self._ws.recv())
        except websocket.WebSocketTimeoutException as exc:
            raise TimeoutError from exc
        if "method" in message:
            self._on_event(message)
        return message

    def send(self, method: str, params: dict | None = None, *, session: bool = False,
             timeout: float | None = None) -> dict:
        """Send a command and wait for its answer, handling the events that arrive meanwhile."""
        request_id = self._post(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                message = self._receive(deadline)
            except TimeoutError:
                raise BrowserError(f"no answer to {method} within {timeout or self.timeout} s") from None
            if message.get("id") == request_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _wait_for(self, method: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self._events):
                if event["method"] == method:
                    del self._events[: i + 1]
                    return True
            self._events.clear()
            try:
                self._receive(deadline)
            except TimeoutError:
                return False

    def _on_event(self, event: dict) -> None:
        method, params = event["method"], event.get("params", {})
        page = self._page
        if method == "Fetch.requestPaused":
            url = params["request"]["url"]
            if _allowed(url, self.allow_file):
                self._post("Fetch.continueRequest", {"requestId": params["requestId"]}, session=True)
            else:
                if page is not None:
                    page.blocked_requests.append(url)
                self._post("Fetch.failRequest", {"requestId": params["requestId"],
                                                 "errorReason": "BlockedByClient"}, session=True)
            return
        self._events.append(event)
        if page is None:
            return
        if method == "Network.requestWillBeSent":
            self._requests[params["requestId"]] = params["request"]["url"]
        elif method == "Network.responseReceived":
            response = params["response"]
            if response.get("status", 200) >= 400:
                page.failed_requests.append(f"{response['url']} (HTTP {response['status']})")
        elif method == "Network.loadingFailed":
            url = self._requests.get(params["requestId"], "?")
            if not (params.get("blockedReason") == "inspector" or url in page.blocked_requests):
                page.failed_requests.append(f"{url} ({params.get('errorText', 'failed')})")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            page.console_errors.append(text[:300])
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            page.console_errors.append(f"uncaught: {text[:300]}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            # Network errors are reported once, as failed or blocked requests.
            if entry.get("source") != "network":
                page.console_errors.append(f"{entry['source']}: {entry['text'][:300]}")

    # -- pages -----------------------------------------------------------------------------
    def check(self, url: str, page: str = "", *, screenshot: Path | None = None,
              load_timeout: float = 20.0) -> PageReport:
        """Load ``url``, wait for MathJax and images, and report."""
        report = PageReport(page=page or url, url=url)
        self._page, self._requests, self._events = report, {}, []
        try:
            result = self.send("Page.navigate", {"url": url}, session=True)
            if result.get("errorText"):
                report.error = result["errorText"]
                return report
            if not self._wait_for("Page.loadEventFired", load_timeout):
                report.error = f"no load event within {load_timeout} s"
                return report
            # A page that only forwards (<meta http-equiv="refresh">) is checked where it leads.
            if not self._wait_until_settled(load_timeout):
                report.error = f"the page did not settle (or forwards nowhere) within {load_timeout} s"
                return report
            evaluated = self.send("Runtime.evaluate", {"expression": COLLECT_JS, "awaitPromise": True,
                                                       "returnByValue": True}, session=True,
                                  timeout=load_timeout)
            if "exceptionDetails" in evaluated:
                report.error = f"the check script failed: {evaluated['exceptionDetails'].get('text')}"
                return report
            data = evaluated["result"]["value"]
            report.broken_images += data["broken_images"]
            report.failed_fonts += data["failed_fonts"]
            report.raw_tex += data["raw_tex"]
            report.mathjax_errors += data["mathjax_errors"]
            report.mathjax = data["mathjax"]
            report.headings = data["headings"]
            report.math_elements = data["math_elements"]
            report.typeset = data["typeset"]
            report.final_url = self.send("Runtime.evaluate", {"expression": "location.href",
                                         "returnByValue": True}, session=True)["result"]["value"]
            report.images = self.send("Runtime.evaluate", {"expression": "document.images.length",
                                      "returnByValue": True}, session=True)["result"]["value"]
            # Let late events (a console error from a deferred script) arrive.
            self._drain(0.1)
            if screenshot is not None:
                # The whole page (up to 6000 px tall), so the figures and math further down show.
                size = self.send("Page.getLayoutMetrics", session=True)["cssContentSize"]
                clip = {"x": 0, "y": 0, "width": 1280, "height": min(int(size["height"]), 6000), "scale": 1}
                shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                            "clip": clip}, session=True)
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
        except BrowserError as exc:  # e.g. MathJax never finished: report it, go on to the next page
            report.error = str(exc)
        finally:
            self._page = None
        return report

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the current page."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                           session=True)
        return result["result"].get("value")

    def _wait_until_settled(self, timeout: float) -> bool:
        """Poll until the tab holds a completely loaded document that does not forward."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(BrowserError):  # the context is replaced while navigating
                state = self.send("Runtime.evaluate", {"expression": SETTLED_JS, "returnByValue": True},
                                  session=True, timeout=5)["result"].get("value")
                if state == "settled":
                    return True
            self._drain(0.05)
        return False

    def _drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with contextlib.suppress(TimeoutError):
            while True:
                self._receive(deadline)


def is_redirect(html_file: Path) -> bool:
    """A page that only forwards to another one (Jupyter Book's top-level index.html)."""
    head = html_file.read_text(encoding="utf-8", errors="replace")[:4000].lower()
    return 'http-equiv="refresh"' in head


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the built site (discovered, not listed), relative to ``site``."""
    pages = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        if rel.startswith(("_static/", "_sources/", "_images/")):
            continue
        pages.append(rel)
    return pages


def check_pages(site: Path, pages: list[str], *, screenshots: dict[str, Path] | None = None,
                executable: str | None = None) -> dict[str, PageReport]:
    """Serve ``site`` on localhost and check each page in one headless Chromium."""
    screenshots = screenshots or {}
    reports = {}
    with serve(site) as base, Browser(executable) as browser:
        for page in pages:
            reports[page] = browser.check(base + page, page, screenshot=screenshots.get(page))
    return reports


def main(argv: list[str]) -> int:
    site = Path(argv[1] if len(argv) > 1 else "_build/html")
    pages = [p for p in site_pages(site) if not is_redirect(site / p)]
    start = time.monotonic()
    reports = check_pages(site, pages)
    failed = 0
    for page, report in reports.items():
        problems = report.problems()
        failed += bool(problems)
        status = "FAIL" if problems else "ok"
        counts = f"math {report.typeset}, images {report.images}, headings {report.headings}"
        print(f"{status:4}  {page}  ({counts})")
        for problem in problems:
            print(f"      {problem}")
    print(f"{len(reports)} pages, {failed} with problems, {time.monotonic() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
