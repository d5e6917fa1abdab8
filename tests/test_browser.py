"""One end-to-end check in a real browser: JupyterLab (headless) + Debian's Chromium driven by
Playwright for Python. It opens notebook 02 (a copy, so autosave never touches the committed
file), runs all cells in fast mode on the offline data, moves the wire-0 rank slider and
checks that the accuracy the panel shows changes.

Skipped, with the reason, where /usr/bin/chromium or Playwright is missing (``.ci/run``
installs Chromium with apt). Playwright's own browser download is not used.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} not found: install Debian's chromium "
                              f"(`apt-get install -y chromium`, as .ci/run does) to run the browser test"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on localhost with a token, serving a copy of notebook 02."""
    work = tmp_path / "lab"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / "02_decomposition.ipynb", work)
    port, token = _free_port(), "xnets-browser-test"
    env = dict(os.environ, XNETS_FAST="1", XNETS_DATASET="mnist", XNETS_DEVICE="cpu",
               XNETS_CHECKPOINTS=str(ROOT / "build" / "test" / "checkpoints"),
               XNETS_FIGURES=str(tmp_path / "figures"), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    log = open(tmp_path / "jupyterlab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={work}", "--ServerApp.port_retries=0",
         "--LabApp.news_url=", "--ServerApp.open_browser=False", "--allow-root"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield f"{url}/lab/tree/02_decomposition.ipynb?token={token}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _accuracy(text: str) -> str:
    match = re.search(r"test accuracy ([\d.]+%)", text)
    assert match, f"no accuracy in panel text {text!r}"
    return match.group(1)


def test_rank_slider_changes_the_shown_accuracy(jupyterlab, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(jupyterlab)
            page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
            # the kernel is up once the status bar says "… | Idle"
            page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=120_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()
            summary = page.locator(".xnets-rank-summary").first
            summary.wait_for(state="attached", timeout=240_000)
            page.wait_for_function(
                "() => /test accuracy/.test(document.querySelector('.xnets-rank-summary')?.textContent || '')",
                timeout=60_000)
            before = _accuracy(summary.text_content())
            # The wire-0 slider: type a value into its readout (what a reader can do too).
            readout = page.locator(".widget-slider .widget-readout").first
            readout.scroll_into_view_if_needed()
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("1")
            page.keyboard.press("Enter")
            page.wait_for_function(
                "(b) => { const t = document.querySelector('.xnets-rank-summary')?.textContent || '';"
                " const m = t.match(/test accuracy ([\\d.]+%)/); return m && m[1] !== b; }",
                arg=before, timeout=60_000)
            after = _accuracy(summary.text_content())
        except Exception:
            page.screenshot(path=str(tmp_path / "browser-failure.png"))
            raise
        finally:
            browser.close()
    assert after != before, (before, after)
    assert float(after.rstrip("%")) < float(before.rstrip("%"))
