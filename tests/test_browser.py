"""End-to-end checks in a real browser: JupyterLab (headless) + Debian's Chromium driven by
Playwright for Python, on copies of the notebooks (autosave never touches the committed
files), as a student meets them:

* a committed notebook opened without running anything shows its figures and each panel's
  static snapshot (text and image), and no dead widget;
* **every notebook** is run with "Run All Cells" in the fast setting on the offline data
  (01 first: it trains the fast models into a temporary checkpoint folder, which the others
  then load). After each: no error, every image loaded, no ``<Figure size …>`` text, and for
  **every live panel**: an image is shown, no snapshot is visible (the live panel replaced
  it), one keyboard interaction changes both its text and its image, and typed values in its
  number boxes and slider readouts are honoured (snapped or clamped to what it allows).

One JupyterLab server and one browser serve the whole file; ``XNETS_BROWSER_SHOTS=<folder>``
saves a screenshot of every live panel there (after its keyboard interaction). Skipped, with
the reason, where /usr/bin/chromium or Playwright is missing (``apt-get install -y
chromium``); Playwright's own browser download is not used.
"""

import json
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
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TOKEN = "xnets-browser-test"
#: 01 first: it trains (fast) what the others load.
ORDER = (
    "01_training",
    "00_tensor_networks",
    "02_decomposition",
    "03_eigenvectors",
    "04_tree",
    "05_validation",
)

pytestmark = [
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} not found: install Debian's chromium "
        f"(`apt-get install -y chromium`) to run the browser test",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on localhost (token, fixed port) serving ``work``."""

    def __init__(self, work: Path, url: str):
        self.work, self.url, self.pages = work, url, 0

    def page_url(self, name: str) -> str:
        """The notebook alone in a fresh workspace: JupyterLab would otherwise reopen the
        tabs of the last page (other notebooks, with kernels and cleared cells of their own)."""
        self.pages += 1
        return f"{self.url}/lab/workspaces/t{self.pages}/tree/{name}.ipynb?reset&token={TOKEN}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}?token={TOKEN}", method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Free the memory of the notebooks already checked (2 cores, many kernels)."""
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    work = tmp / "lab"
    work.mkdir()
    for nb in (ROOT / "notebooks").glob("0*.ipynb"):
        shutil.copy(nb, work)
    # Render every cell as it comes (no virtual scrolling), so what is checked is on the page.
    settings = tmp / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port = _free_port()
    env = dict(
        os.environ,
        XNETS_FAST="1",
        XNETS_DATASET="mnist",
        XNETS_DEVICE="cpu",
        XNETS_SEED="0",
        XNETS_CHECKPOINTS=str(tmp / "checkpoints"),
        XNETS_FIGURES=str(tmp / "figures"),
        JUPYTER_CONFIG_DIR=str(tmp / "cfg"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    log_path = tmp / "jupyterlab.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={work}",
            "--ServerApp.port_retries=0",
            "--LabApp.news_url=",
            "--ServerApp.open_browser=False",
            "--allow-root",
        ],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.5)
        yield Lab(work, url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is not installed"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, request):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    yield page
    if getattr(request.node, "failed_in_browser", False):  # for looking at it afterwards
        shot = ROOT / "build" / f"browser-failure-{request.node.name}.png"
        shot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    page.close()


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------
def _open(page, url: str) -> None:
    page.goto(url)
    page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
    page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=120_000)


def _run_all(page, url: str, timeout: int = 600_000) -> None:
    """Open a notebook, clear the outputs it was committed with, run every cell, and wait
    until every code cell has run (no prompt is "[*]" or "[ ]")."""
    _open(page, url)
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_text("Clear Outputs of All Cells", exact=True).click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    # done when every code cell has run, or as soon as one shows an error (Run All stops)
    page.wait_for_function(
        "() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
        ".map(e => e.textContent.trim());"
        " const err = [...document.querySelectorAll(\"[data-mime-type$='stderr']\")]"
        ".some(e => /Error|Traceback/.test(e.textContent));"
        " return err"
        " || (p.length > 0 && p.every(t => /\\[\\d+\\]/.test(t))); }",
        timeout=timeout,
        polling=1000,
    )
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    texts = [errors.nth(i).text_content() for i in range(errors.count())]
    assert not [t for t in texts if "Traceback" in t or "Error" in t], texts


PANEL_STATE = """(panel) => ({
    text: [...panel.querySelectorAll('.widget-html-content')].map(e => e.innerText).join('\\n'),
    image: (panel.querySelector('img') || {}).src || '',
    width: (panel.querySelector('img') || {}).naturalWidth || 0,
})"""


def _state(panel) -> dict:
    return panel.evaluate(PANEL_STATE)


def _wait_changed(page, panel, before: dict, what=("text", "image"), timeout=60_000) -> dict:
    page.wait_for_function(
        f"([panel, before, keys]) => {{ const now = ({PANEL_STATE})(panel);"
        " return now.width > 0 && keys.every(k => now[k] !== before[k]); }",
        arg=[panel.element_handle(), before, list(what)],
        timeout=timeout,
        polling=200,
    )
    return _state(panel)


def _wait_text(page, panel, pattern: str, timeout=60_000) -> str:
    page.wait_for_function(
        f"([panel, pattern]) => new RegExp(pattern).test(({PANEL_STATE})(panel).text)",
        arg=[panel.element_handle(), pattern],
        timeout=timeout,
        polling=200,
    )
    return _state(panel)["text"]


def _keyboard_interaction(page, panel) -> str:
    """One change made with the keyboard only: a slider handle moved with End/Home, else the
    next class button pressed with Space, else a number box stepped with ArrowUp + Enter."""
    handles = panel.locator(".noUi-handle")
    if handles.count():
        handle = handles.first
        now, top = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax"))
        handle.focus()
        key = "End" if now < top else "Home"
        page.keyboard.press(key)
        return f"slider {key}"
    buttons = panel.locator(".widget-toggle-buttons button:not(.mod-active)")
    if buttons.count():
        buttons.first.focus()
        page.keyboard.press("Space")
        return "toggle button Space"
    box = panel.locator("input[type=number]").first
    box.focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    return "number box ArrowUp"


def _type_into(page, locator, text: str) -> None:
    """Type a value as a student does: select what is there, type, Enter, leave the box."""
    locator.scroll_into_view_if_needed()
    locator.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")


def _panel_cells(name: str) -> int:
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    return sum(
        1
        for c in nb["cells"]
        if c["cell_type"] == "code"
        and "Panel(" in "".join(c["source"])
        and ".display()" in "".join(c["source"])
    )


def _committed_images(name: str) -> int | None:
    """How many images the committed notebook shows (each ``image/png`` output, and each
    image inlined in a panel snapshot), or None when it holds no panel snapshot (its outputs
    are being remade)."""
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    outputs = [o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", [])]
    html = ["".join(d.get("text/html", "")) for d in outputs]
    if not any("xnets-snapshot" in h for h in html):
        return None
    return sum(
        "image/png" in d and "xnets-snapshot" not in "".join(d.get("text/html", ""))
        for d in outputs
    ) + sum(h.count("data:image/png") for h in html)


# Typed values, per kind of panel (recognised by its text): each types into a number box
# or a slider readout and checks that the value is honoured, snapped or clamped.
def _typed_rank(page, panel):
    boxes = panel.locator(".xnets-number-box input")
    last = boxes.count() - 1
    _type_into(page, boxes.nth(last), "23")  # not offered: snapped to 24
    _wait_text(page, panel, f"w{last} 24\\b")
    assert boxes.nth(last).input_value() == "24"
    _type_into(page, boxes.nth(0), "2")  # offered: taken as typed
    _wait_text(page, panel, "w0 2\\b")


def _typed_eigenvector(page, panel):
    readout = panel.locator(".widget-slider .widget-readout").nth(1)
    top = re.search(r"of the top (\d+) computed", _state(panel)["text"]).group(1)
    _type_into(page, readout, "3")
    _wait_text(page, panel, "eigenvector 3 of the top")
    _type_into(page, readout, "999")  # beyond the range: clamped
    _wait_text(page, panel, f"eigenvector {top} of the top {top} computed")
    assert readout.text_content().strip() == top


def _typed_ablation(page, panel):
    box = panel.locator(".xnets-number-box input").first
    _type_into(page, box, "2")
    _wait_text(page, panel, "top 2 →")
    _type_into(page, box, "77")  # clamped to the largest k
    page.wait_for_function(
        "(box) => box.value !== '77' && box.value !== '2'", arg=box.element_handle(), timeout=60_000
    )
    _wait_text(page, panel, f"top {box.input_value()} →")


def _typed_steering(page, panel):
    readout = panel.locator(".widget-slider .widget-readout").first
    _type_into(page, readout, "0")
    _wait_text(page, panel, "α = 0.00: ")


def _typed_explanation(page, panel):
    box = panel.locator("input[type=number]").first
    before = _state(panel)
    _type_into(page, box, "5")
    _wait_changed(page, panel, before)
    assert box.input_value() == "5"
    _type_into(page, box, "-4")  # below the range: clamped to 0
    page.wait_for_function("(box) => box.value === '0'", arg=box.element_handle(), timeout=60_000)


TYPED = {
    "rank": (r"kept per wire", _typed_rank),
    "eigenvector": (r"of the top \d+ computed", _typed_eigenvector),
    "ablation": (r"remove class", _typed_ablation),
    "steering": (r"α = [\d.]+: ", _typed_steering),
    "explanation": (r"runner-up", _typed_explanation),
}
#: The panels each notebook must have, and whose typed values were checked (at least).
EXPECTED = {
    "02_decomposition": {"rank"},
    "03_eigenvectors": {"eigenvector"},
    "04_tree": set(),
    "05_validation": {"ablation", "steering", "explanation"},
}


# ---------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------
def test_a_notebook_without_a_kernel_shows_figures_and_panel_snapshots(lab, page):
    """What a reader sees on opening a notebook before running anything: the committed 03,
    and a notebook holding a panel's output as it is committed (its widget view dropped)."""
    import torch

    from helpers import random_xnet
    from xnets_lite.analysis.interpret import class_eigenvectors
    from xnets_lite.core.odt import odt
    from xnets_lite.course.outputs import _without_widget_view
    from xnets_lite.course.widgets import EigenvectorPanel

    pytest.importorskip("ipywidgets")
    torch.manual_seed(0)
    panel = EigenvectorPanel(
        class_eigenvectors(odt(random_xnet(16, 5, 6, 4)), k=2, image_shape=(4, 4)),
        title="snapshot demo",
    )
    output = _without_widget_view(
        {"output_type": "display_data", "metadata": {}, "data": panel.mimebundle()}
    )
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 1,
                "id": "a1",
                "metadata": {},
                "outputs": [output],
                "source": "EigenvectorPanel(ce).display()",
            }
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (lab.work / "snapshot_demo.ipynb").write_text(json.dumps(nb))
    checks = [("snapshot_demo", 1)]
    committed = [(n, _committed_images(n)) for n in ("03_eigenvectors",) + ORDER]
    checks += [(n, images) for n, images in committed if images is not None][:1]
    for name, images in checks:
        page.goto(lab.page_url(name))
        page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
        page.wait_for_function(
            "(n) => [...document.querySelectorAll('.jp-OutputArea-output img')]"
            ".filter(i => i.naturalWidth > 100).length >= n",
            arg=images,
            timeout=60_000,
        )
        snapshot = page.locator(".xnets-snapshot").first
        snapshot.scroll_into_view_if_needed()
        assert "Static snapshot" in snapshot.text_content()
        if name == "snapshot_demo":
            assert "eigenvector 1 of the top 2" in snapshot.text_content()
        # a snapshot's own image (inlined in its HTML) survives JupyterLab's sanitiser
        for img in snapshot.locator("img").element_handles():
            assert page.evaluate("(i) => i.naturalWidth", img) > 100
        # no dead widget view (which would show "Error displaying widget: model not found")
        assert (
            page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.widget-view+json']"
            ).count()
            == 0
        )
    lab.shutdown_kernels()


@pytest.mark.parametrize("name", ORDER)
def test_run_all_and_every_live_panel(lab, page, name, request):
    try:
        _run_all(page, lab.page_url(name))
        images = page.locator(".jp-OutputArea-output img")
        assert images.count() >= 1
        for i in range(images.count()):
            assert page.evaluate("(img) => img.naturalWidth", images.nth(i).element_handle()) > 100
        assert page.get_by_text(re.compile(r"<Figure size")).count() == 0
        # the live panels replaced their snapshots: none is rendered at all
        assert page.locator(".xnets-snapshot").count() == 0
        panels, typed = page.locator(".xnets-panel"), set()
        assert panels.count() == _panel_cells(name), "a panel cell shows no live panel"
        for i in range(panels.count()):
            panel = panels.nth(i)
            panel.scroll_into_view_if_needed()
            state = _state(panel)
            assert state["width"] > 100, f"panel {i} shows no image"
            assert "<Figure size" not in panel.inner_text()
            how = _keyboard_interaction(page, panel)
            try:
                _wait_changed(page, panel, state)
            except Exception as err:
                raise AssertionError(
                    f"panel {i}: {how} changed not both its text and image "
                    f"(text was {state['text'][:200]!r})"
                ) from err
            if os.environ.get("XNETS_BROWSER_SHOTS"):  # to look at the panels by eye
                shots = Path(os.environ["XNETS_BROWSER_SHOTS"])
                shots.mkdir(parents=True, exist_ok=True)
                panel.screenshot(path=str(shots / f"{name}-panel{i}.png"))
            for kind, (marker, check) in TYPED.items():
                if re.search(marker, _state(panel)["text"]):
                    check(page, panel)
                    typed.add(kind)
                    break
        assert typed >= EXPECTED.get(name, set()), f"panels not found: {EXPECTED[name] - typed}"
        if name in EXPECTED:
            assert panels.count() >= max(1, len(EXPECTED[name]))
    except Exception:
        request.node.failed_in_browser = True
        raise
    finally:
        lab.shutdown_kernels()
