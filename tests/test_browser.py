"""End-to-end checks in a real browser: JupyterLab (headless) + Debian's Chromium driven by
Playwright for Python, on copies of the notebooks (autosave never touches the committed
files), run with "Run All Cells" in fast mode on the offline data, as a student would:

* 00 and 01: every figure appears as an image (not as ``<Figure size …>`` text);
* 02: moving the wire-w0 rank slider with the keyboard changes the accuracy the panel shows;
* 03: the eigenvector slider and the caption count alike (slider 3 reads "eigenvector 3").

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
    """A JupyterLab server on localhost with a token, serving copies of the notebooks;
    yields a function: notebook name → its URL."""
    work = tmp_path / "lab"
    work.mkdir()
    for nb in (ROOT / "notebooks").glob("0*.ipynb"):
        shutil.copy(nb, work)
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
        yield lambda name: f"{url}/lab/tree/{name}.ipynb?token={token}"
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


@pytest.fixture
def browser(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        except Exception:
            page.screenshot(path=str(tmp_path / "browser-failure.png"))
            raise
        finally:
            browser.close()


def _run_all(page, url: str, done_selector: str | None = None, timeout: int = 300_000) -> None:
    """Open a notebook, clear the outputs it was committed with, run every cell, and wait
    until the kernel is idle again with every cell executed."""
    page.goto(url)
    page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
    page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=120_000)
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_text("Clear Outputs of All Cells", exact=True).click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    if done_selector:
        page.locator(done_selector).first.wait_for(state="attached", timeout=timeout)
    # every code cell has run: no prompt is "[*]" or "[ ]", and the kernel is idle
    page.wait_for_function(
        "() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
        ".map(e => e.textContent.trim()); return p.length > 0 && p.every(t => /\\[\\d+\\]/.test(t)); }",
        timeout=timeout)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] "
                          ":text('Traceback')")
    assert errors.count() == 0, "a cell raised an error"


def test_committed_notebook_shows_its_figures_and_panel_snapshot_without_running(jupyterlab, browser):
    """What a reader sees on opening a committed notebook before running anything."""
    page = browser
    page.goto(jupyterlab("03_eigenvectors"))
    page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
    # JupyterLab renders cells progressively ("defer" windowing): wait for all the images
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-OutputArea-output img').length >= 5", timeout=60_000)
    snapshot = page.locator(".xnets-snapshot").first
    snapshot.scroll_into_view_if_needed()
    assert "Static snapshot" in snapshot.text_content()
    assert "eigenvector 1 of" in snapshot.text_content()
    # no dead widget view (which would show "Error displaying widget: model not found")
    assert page.locator(".jp-OutputArea-output[data-mime-type="
                        "'application/vnd.jupyter.widget-view+json']").count() == 0


@pytest.mark.parametrize("name", ["00_tensor_networks", "01_training"])
def test_figures_show_as_images(jupyterlab, browser, name):
    _run_all(browser, jupyterlab(name))
    images = browser.locator(".jp-OutputArea-output img")
    assert images.count() >= (2 if name == "00_tensor_networks" else 1)
    for i in range(images.count()):
        assert browser.evaluate("(img) => img.naturalWidth", images.nth(i).element_handle()) > 100
    assert browser.get_by_text(re.compile(r"<Figure size")).count() == 0


def test_rank_slider_changes_the_shown_accuracy(jupyterlab, browser):
    page = browser
    _run_all(page, jupyterlab("02_decomposition"), ".xnets-rank-summary")
    summary = page.locator(".xnets-rank-summary").first
    page.wait_for_function(
        "() => /test accuracy/.test(document.querySelector('.xnets-rank-summary')?.textContent || '')",
        timeout=60_000)
    before = _accuracy(summary.text_content())
    # The wire-w0 slider, moved with the keyboard as a reader can: focus its handle, Home = rank 0.
    handle = page.locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    page.keyboard.press("Home")
    page.wait_for_function(
        "(b) => { const t = document.querySelector('.xnets-rank-summary')?.textContent || '';"
        " const m = t.match(/test accuracy ([\\d.]+%)/); return m && m[1] !== b; }",
        arg=before, timeout=60_000)
    after = _accuracy(summary.text_content())
    assert after != before, (before, after)
    assert float(after.rstrip("%")) < float(before.rstrip("%"))
    assert page.locator(".widget-slider .widget-readout").first.text_content().strip() == "0"


def test_eigenvector_caption_matches_the_slider(jupyterlab, browser):
    page = browser
    _run_all(page, jupyterlab("03_eigenvectors"), ".xnets-eigen-caption")
    caption = page.locator(".xnets-eigen-caption").first
    assert "eigenvector 1 of" in caption.text_content()
    # the panel's second slider is "eigenvector": type 3 into its readout
    readout = page.locator(".widget-hbox .widget-slider").nth(1).locator(".widget-readout")
    assert readout.text_content().strip() == "1"
    readout.scroll_into_view_if_needed()
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => /eigenvector 3 of/.test(document.querySelector('.xnets-eigen-caption')?.textContent || '')",
        timeout=60_000)
    assert readout.text_content().strip() == "3"
