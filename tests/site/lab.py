"""Open the book's notebooks in a real JupyterLab, in headless Chromium, as a learner does.

:func:`lab_server` starts the JupyterLab of the book's environment (with ``jupyterlab-myst``,
which renders the prose's MyST markup) on 127.0.0.1 over a folder, with its settings,
workspaces and runtime files in a temporary folder so that nothing of the user's own
JupyterLab is read or changed. :class:`Lab` drives it in a :class:`browser.Browser` tab: open a
notebook, run all its cells, read what the rendered prose shows, take a screenshot.

Run by hand (screenshots of one notebook before and after "Run all" in ``_build/screenshots``)::

    .venv/bin/python tests/site/lab.py book/regression/mae.ipynb
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from browser import Browser, BrowserError


@dataclass
class Server:
    url: str
    token: str
    root: Path

    def notebook_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}&reset"


SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def lab_server(root: Path, timeout: float = 90.0):
    """JupyterLab serving ``root`` on a free local port, for as long as the context lasts."""
    port, token = _free_port(), secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="lossbook-lab-") as home:
        # Every cell rendered (no windowing, so offscreen prose is in the page too), and no
        # prompt about fetching news from the network.
        for plugin, values in SETTINGS.items():
            target = Path(home) / "settings" / f"{plugin}.jupyterlab-settings"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        env = dict(os.environ, JUPYTER_CONFIG_DIR=f"{home}/config", JUPYTER_RUNTIME_DIR=f"{home}/runtime",
                   IPYTHONDIR=f"{home}/ipython", JUPYTERLAB_SETTINGS_DIR=f"{home}/settings",
                   JUPYTERLAB_WORKSPACES_DIR=f"{home}/workspaces")
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
               f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
               "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly", "--ServerApp.open_browser=False", "--allow-root"]
        log = open(Path(home) / "lab.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise BrowserError(f"JupyterLab exited with {proc.returncode}:\n"
                                       + (Path(home) / "lab.log").read_text(errors="replace")[-3000:])
                try:
                    with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise BrowserError(f"JupyterLab did not answer within {timeout} s")
                time.sleep(0.25)
            yield Server(url=url, token=token, root=root)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


# What the open notebook's prose shows, cell by cell: every inline expression (jupyterlab-myst
# renders a computed value as text, an expression it has no value for as <code>), the text of
# the rendered markdown cells, and whether the kernel is idle with every code cell run.
STATE_JS = r"""
(() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return {ready: false};
  const cells = panel.content.widgets;
  const markdown = [];
  let pending = 0, codeCells = 0;
  cells.forEach((cell, index) => {
    if (cell.model.type === 'code') {
      codeCells += 1;
      if (cell.model.executionCount === null) pending += 1;
      const prompt = cell.node.querySelector('.jp-InputPrompt');
      if (prompt && prompt.textContent.includes('*')) pending += 1;
    } else if (cell.model.type === 'markdown') {
      // jupyterlab-myst renders the prose into .myst (the built-in renderer into .jp-MarkdownOutput)
      const node = cell.node.querySelector('.myst, .jp-MarkdownOutput');
      markdown.push({index, text: node ? node.textContent.replace(/\s+/g, ' ') : '',
                     source: cell.model.sharedModel.getSource(),
                     stored: cell.model.getMetadata('user_expressions') || []});
    }
  });
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {ready: panel.context.isReady, cells: cells.length, codeCells, pending, markdown,
          kernel: kernel ? kernel.status : null};
})()
"""


class Lab:
    """A notebook in JupyterLab, in one headless Chromium tab."""

    def __init__(self, browser: Browser, server: Server):
        self.browser, self.server = browser, server

    def open(self, path: str, timeout: float = 60.0) -> dict:
        """Open ``path`` (relative to the server's root) and wait until every cell is rendered."""
        self.browser.send("Page.navigate", {"url": self.server.notebook_url(path)}, session=True)
        return self.wait(lambda s: s.get("ready") and s["cells"] > 0 and s["kernel"] == "idle",
                         timeout, f"{path} did not open with an idle kernel")

    def state(self) -> dict:
        with contextlib.suppress(BrowserError):
            value = self.browser.evaluate(STATE_JS)
            if isinstance(value, dict):
                return value
        return {"ready": False}

    def wait(self, done, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if done(state):
                time.sleep(0.5)  # let the last renders (inline expressions) land
                return self.state()
            if time.monotonic() > deadline:
                raise BrowserError(f"{what} within {timeout} s (last state: {json.dumps(state)[:500]})")
            time.sleep(0.25)

    def run_all(self, timeout: float = 240.0, until=None) -> dict:
        """Run every cell, as the menu's Run ▸ Run All Cells does, and wait for the last one.

        ``until(state)``, if given, must hold too: the kernel is briefly idle between cells, and
        the markdown cells' expressions are evaluated after their cells render.
        """
        self.browser.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        try:
            return self.wait(lambda s: s.get("ready") and s["kernel"] == "idle" and s["pending"] == 0
                             and (until is None or until(s)), timeout, "the notebook did not finish running")
        except BrowserError:
            if until is None:
                raise
            return self.state()

    def screenshot(self, path: Path) -> None:
        shot = self.browser.send("Page.captureScreenshot", {"format": "png"}, session=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def scroll_to_cell(self, index: int) -> None:
        self.browser.evaluate(
            f"window.jupyterapp.shell.currentWidget.content.widgets[{index}].node"
            ".scrollIntoView({block: 'start'})")
        time.sleep(0.5)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    notebook = Path(argv[0]).resolve()
    repo = Path(__file__).resolve().parents[2]
    out = repo / "_build" / "screenshots"
    with lab_server(repo) as server, Browser() as browser:
        lab = Lab(browser, server)
        state = lab.open(str(notebook.relative_to(repo)))
        first = next((m["index"] for m in state["markdown"] if "{eval}" in m["source"]
                      or "{glue" in m["source"]), 0)
        lab.scroll_to_cell(first)
        lab.screenshot(out / f"lab-{notebook.stem}-opened.png")
        lab.run_all()
        lab.scroll_to_cell(first)
        lab.screenshot(out / f"lab-{notebook.stem}-run.png")
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
