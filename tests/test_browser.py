"""End-to-end checks in a real browser: JupyterLab (headless) + Debian's Chromium driven by
Playwright for Python, on the student's working copy of the course (``xnets_lite.course.lab``, what
``make lab`` makes: the committed notebooks are never opened), in a budget (issue 25: no Run
All of the six notebooks; the notebooks' own runs are papermill's, in ``make test``):

* **before running anything**: a committed notebook shows its figures and each panel's static
  snapshot (text and image), and no dead widget; opened, it is not modified (its metadata is
  complete) and autosave (set to 2 s here) leaves it alone;
* **every live panel**, on a small notebook (``panels.ipynb``) made of the course's own panel
  cells, taken by id from the committed notebooks, after one set-up cell that computes what
  they read from the fast models (trained in seconds, or loaded; 06's panel reads three seeds
  of each kind): its Run All shows an image in every panel, never ``<Figure size``, no
  snapshot beside a live panel; one keyboard interaction changes both text and image; typed
  values in number boxes and slider readouts are honoured (snapped with a visible note, or
  clamped), and 06's class buttons and model pickers are followed;
* **the issue 21 round trip**: that notebook opened, left past an autosave interval, run,
  saved, its kernel shut down and reopened shows a snapshot image in every panel and no
  "Error displaying widget", and no tracked file of the clone changed.

One JupyterLab server and one browser serve the whole file; ``XNETS_BROWSER_SHOTS=<folder>``
saves a screenshot of every live panel there (after its keyboard interaction) and of the
reopened notebook. Skipped, with the reason, where /usr/bin/chromium or Playwright is missing
(``apt-get install -y chromium``); Playwright's own browser download is not used.
"""

import hashlib
import json
import os
import re
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
#: JupyterLab's autosave interval in this test (seconds; the default is 120).
AUTOSAVE = 2
#: The course's panel cells, by notebook and cell id (the panels notebook runs these sources).
PANEL_CELLS = {
    "02_decomposition": ["c02-23"],
    "03_eigenvectors": ["c03-12", "c03-23"],
    "04_tree": ["c04-14"],
    "05_validation": ["v05-12", "v05-17", "v05-22"],
    "06_similarity": ["s06-24c"],
}
#: What the panel cells read, computed from the fast model as the notebooks compute it.
SETUP = """\
import os
import torch
from xnets_lite.course.notebooks import Run
from xnets_lite.analysis.interactions import class_interactions
from xnets_lite.analysis.interpret import class_eigenvectors, compositional_tree, mean_gradient
from xnets_lite.core.odt import odt
from xnets_lite.analysis.validation import (
    ablation_matrix,
    random_directions,
    steering,
)

run = Run("mnist", fast="1", seed="0", device="cpu", checkpoints=os.environ["XNETS_CHECKPOINTS"],
          figures=os.environ["XNETS_FIGURES"])
print(run)
train_data, test_data = run.data()
model = run.model(run.main)[0]
dec = odt(model)
shape = test_data.image_shape
n_model = sum(p.numel() for p in model.parameters())
x_test = test_data[0:len(test_data)][0]
grad = mean_gradient(model, x_test)
ce = class_eigenvectors(dec, k=5, image_shape=shape, sign_gradient=grad)
qfs = {run.main: class_interactions(model, k=3, image_shape=shape, sign_gradient=grad)}
tree = compositional_tree(dec, rank=15, image_shape=shape)
g = class_eigenvectors(dec, k=3, image_shape=shape, sign_gradient=grad)
ablations = [ablation_matrix(model, test_data, g.vectors, ks=(1, 2, 3), name="class Gram (ODT)"),
             ablation_matrix(model, test_data, random_directions(10, 3, test_data.d_input, seed=0),
                             ks=(1, 2, 3), name="random")]
stronger_zeroed = []  # 05's controls (e)-(g): the panel shows whatever readings it is given
alphas = float(x_test.norm(dim=1).mean()) * torch.linspace(0, 1.2, 7)
steer = steering(model, test_data, g.vectors[:, 0], alphas, seed=0, max_images=2000)
best = steer.best()[0]
# 06: three seeds of each kind (the main model is the first), their cosines and eigenvectors
from dataclasses import replace
from xnets_lite.analysis.similarity_study import seed_matrices

kinds, seeds = ["xnet", "xnet-direct"], [run.seed, run.seed + 1, run.seed + 2]
models = {(kind, s): replace(run, seed=s).model(kind)[0] for kind in kinds for s in seeds}
labels = [f"{'res' if kind == 'xnet' else 'dir'} s{s}" for kind, s in models]
x_gauss = torch.randn(2000, test_data.d_input, generator=torch.Generator().manual_seed(run.seed),
                      dtype=torch.float64)
sm = seed_matrices(list(models.values()), x_test, x_gauss)
weights, data_cos, gauss_cos, published = sm.weights, sm.data, sm.gauss, sm.published
readings = {key: {"class Gram top-3": class_eigenvectors(odt(m), k=3, image_shape=shape,
                                                         sign_data=x_test[:2000]).vectors}
            for key, m in models.items()}
"""

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


def tracked_state() -> tuple[str, dict]:
    """``git status`` of the clone's tracked files, and the sha256 of each committed notebook:
    what a student's session must leave as it found it."""
    status = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    hashes = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
    }
    return status, hashes


def panels_notebook(path: Path) -> tuple[int, int]:
    """Write the panels notebook (the set-up cell, then the course's panel cells, each with its
    committed outputs: the snapshot a reader sees before running); returns how many panels,
    and how many of them hold a committed snapshot image (fewer while a notebook's outputs
    are being remade: 06 returned to the course without outputs)."""
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "setup",
            "metadata": {},
            "outputs": [],
            "source": SETUP,
        }
    ]
    for name, ids in PANEL_CELLS.items():
        nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        by_id = {c.get("id"): c for c in nb["cells"]}
        for cell_id in ids:
            cell = dict(by_id[cell_id])
            assert "Panel(" in "".join(cell["source"]), (name, cell_id)
            cells.append(cell)
    from xnets_lite.course.outputs import complete_metadata

    nb = {
        "cells": cells,
        "metadata": complete_metadata({}),
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    snapshots = sum(
        any(
            "xnets-snapshot" in (html := "".join(o.get("data", {}).get("text/html", "")))
            and "data:image/png" in html
            for o in cell.get("outputs", [])
        )
        for cell in cells[1:]
    )
    return len(cells) - 1, snapshots


class Lab:
    """A JupyterLab server on localhost (token, fixed port) serving ``work``."""

    def __init__(self, work: Path, url: str, tracked):
        self.work, self.url, self.pages, self.tracked = work, url, 0, tracked

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
    from xnets_lite.course.lab import working_copy

    tmp = tmp_path_factory.mktemp("browser")
    work = tmp / "my-notebooks"  # what `make lab` makes, here in a temporary folder
    tracked = tracked_state()
    working_copy(dest=work)
    # Render every cell as it comes (no virtual scrolling), so what is checked is on the page;
    # autosave every AUTOSAVE seconds, so waiting past it is quick.
    settings = tmp / "settings" / "@jupyterlab"
    for plugin, values in {
        "notebook-extension/tracker": {"windowingMode": "none"},
        "docmanager-extension/plugin": {"autosave": True, "autosaveInterval": AUTOSAVE},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
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
        JUPYTER_DATA_DIR=str(tmp / "data"),
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
        yield Lab(work, url, tracked)
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


def _run_all(page, timeout: int = 300_000) -> None:
    """In the open notebook, clear the outputs it was saved with, run every cell, and wait
    until every code cell has run (no prompt is "[*]" or "[ ]")."""
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
    _type_into(page, boxes.nth(last), "23")  # not offered: snapped to 24, and said so
    _wait_text(page, panel, f"w{last} 24\\b")
    assert boxes.nth(last).input_value() == "24"
    _wait_text(page, panel, "you typed 23: nearest allowed rank: 24")
    _type_into(page, boxes.nth(0), "2")  # offered: taken as typed, the note cleared
    _wait_text(page, panel, "w0 2\\b")
    assert "you typed" not in panel.locator(".xnets-snap-note").nth(0).inner_text()


def _typed_eigenvector(page, panel):
    readout = panel.locator(".widget-slider .widget-readout").first
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
    _type_into(page, box, "77")  # beyond the largest k: its nearest, with a note
    page.wait_for_function(
        "(box) => box.value !== '77' && box.value !== '2'", arg=box.element_handle(), timeout=60_000
    )
    _wait_text(page, panel, f"top {box.input_value()} →")
    _wait_text(page, panel, f"you typed 77: nearest allowed k: {box.input_value()}")


def _typed_steering(page, panel):
    box = panel.locator(".xnets-number-box input").first  # α's box (issue 21: typed α)
    _type_into(page, box, "0")
    _wait_text(page, panel, "α = 0.00: ")


def _typed_explanation(page, panel):
    box = panel.locator("input[type=number]").first
    before = _state(panel)
    _type_into(page, box, "5")
    _wait_changed(page, panel, before)
    assert box.input_value() == "5"
    _type_into(page, box, "-4")  # below the range: clamped to 0
    page.wait_for_function("(box) => box.value === '0'", arg=box.element_handle(), timeout=60_000)


def _typed_similarity(page, panel):
    """06: class 3 picked with its button, then the last class; then model b picked from its
    drop-down (selected through the DOM: in JupyterLab ArrowDown on the focused drop-down did
    not change it): the caption names the class, and the cosines and the images change."""
    buttons = panel.locator(".widget-toggle-buttons button")
    last = buttons.count() - 1
    for c in (3, last):
        before = _state(panel)
        buttons.nth(c).click()
        _wait_text(page, panel, f"images: class {c},")
        _wait_changed(page, panel, before, what=("image",))
    before = _state(panel)
    panel.locator(".widget-dropdown select").nth(1).select_option(index=2)  # model b
    _wait_changed(page, panel, before)


TYPED = {
    "rank": (r"kept per wire", _typed_rank),
    "eigenvector": (r"of the top \d+ computed", _typed_eigenvector),
    "ablation": (r"remove class", _typed_ablation),
    "steering": (r"α = [\d.]+: ", _typed_steering),
    "explanation": (r"runner-up", _typed_explanation),
    "similarity": (r"\((all degrees|degree \d+)\)", _typed_similarity),
}
#: The panels whose typed values must have been checked (at least).
EXPECTED = {"rank", "eigenvector", "ablation", "steering", "explanation", "similarity"}

VISIBLE = "(sel) => [...document.querySelectorAll(sel)].filter(e => e.checkVisibility())"


def _visible(page, selector: str) -> int:
    """How many elements matching ``selector`` are visible (not hidden by any style)."""
    return page.evaluate(f"(sel) => ({VISIBLE})(sel).length", selector)


def _visible_text(page, text: str) -> int:
    """How many visible output elements contain ``text``."""
    return page.evaluate(
        "(t) => [...document.querySelectorAll('.jp-OutputArea-output')]"
        ".filter(e => e.checkVisibility() && e.innerText.includes(t)).length",
        text,
    )


def _dirty(page) -> bool:
    """Whether JupyterLab marks the open notebook as modified (unsaved changes)."""
    return page.locator(".lm-TabBar-tab.jp-mod-dirty").count() > 0


def _snapshot_images(page) -> int:
    """Visible panel snapshots whose own image has loaded."""
    return page.evaluate(
        "() => [...document.querySelectorAll('.xnets-snapshot')]"
        ".filter(s => s.checkVisibility() && [...s.querySelectorAll('img')]"
        ".some(i => i.naturalWidth > 100)).length"
    )


# ---------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------
def test_a_notebook_without_a_kernel_shows_figures_and_panel_snapshots(lab, page):
    """What a reader sees on opening a notebook before running anything: a notebook holding
    a panel's snapshot as committed, and the committed 03 (its working copy), which opening
    does not modify (complete metadata) and autosave leaves alone."""
    import torch

    from helpers import random_xnet
    from xnets_lite.analysis.interpret import class_eigenvectors
    from xnets_lite.core.odt import odt
    from xnets_lite.course.widgets import EigenvectorPanel

    pytest.importorskip("ipywidgets")
    torch.manual_seed(0)
    panel = EigenvectorPanel(
        class_eigenvectors(odt(random_xnet(16, 5, 6, 4)), k=2, image_shape=(4, 4)),
        title="snapshot demo",
    )
    output = {"output_type": "display_data", "metadata": {}, "data": panel.snapshot_bundle()}
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
    images = _committed_images("03_eigenvectors")
    if images is not None:  # None while its outputs are being remade
        checks.append(("03_eigenvectors", images))
    for name, images in checks:
        before = (lab.work / f"{name}.ipynb").read_bytes()
        _open(page, lab.page_url(name))
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
        assert _visible_text(page, "Error displaying widget") == 0
        if name == "03_eigenvectors":  # issue 21, item 1: opening changes nothing
            time.sleep(AUTOSAVE + 3)  # past an autosave interval, with the kernel running
            assert not _dirty(page), "opening the notebook modified it (incomplete metadata?)"
            assert (lab.work / f"{name}.ipynb").read_bytes() == before
    lab.shutdown_kernels()


def _drive_live_panels(page, name: str) -> set:
    """Every live panel: an image, no ``<Figure size``, a keyboard change of text and image,
    and typed values; returns the kinds of typed checks done."""
    panels, typed = page.locator(".xnets-panel"), set()
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
    return typed


def test_run_every_panel_save_shut_down_reopen(lab, page, request):
    """Issue 21's round trip, on the course's panel cells: open, wait past an autosave
    interval, run, use every live panel, save, shut the kernel down, reopen: a snapshot image
    in every panel, no "Error displaying widget", and no tracked file of the clone changed."""
    n_panels, n_committed = panels_notebook(lab.work / "panels.ipynb")
    try:
        _open(page, lab.page_url("panels"))
        assert _snapshot_images(page) == n_committed  # the committed snapshots, before running
        time.sleep(AUTOSAVE + 2)
        assert not _dirty(page)
        _run_all(page)
        images = page.locator(".jp-OutputArea-output img")
        for i in range(images.count()):
            if page.evaluate("(img) => img.checkVisibility()", images.nth(i).element_handle()):
                assert (
                    page.evaluate("(img) => img.naturalWidth", images.nth(i).element_handle()) > 100
                )
        assert page.get_by_text(re.compile(r"<Figure size")).count() == 0
        # each live panel replaced its snapshot: none is visible
        assert page.locator(".xnets-panel").count() == n_panels, "a panel cell shows no panel"
        assert _visible(page, ".xnets-snapshot") == 0
        typed = _drive_live_panels(page, "panels")
        assert typed >= EXPECTED, f"panels not found: {EXPECTED - typed}"
        # save, shut the kernel down, close, reopen
        page.locator(".jp-Notebook").first.click()
        page.keyboard.press("Control+s")
        page.wait_for_function(
            "() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')", timeout=30_000
        )
        saved = json.loads((lab.work / "panels.ipynb").read_text(encoding="utf-8"))
        assert all(c.get("outputs") for c in saved["cells"])  # the run's outputs were saved
        lab.shutdown_kernels()
        page.goto("about:blank")  # the notebook closed, its kernel shut down
        page.goto(lab.page_url("panels"))
        page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
        page.wait_for_function(
            f"() => [...document.querySelectorAll('.xnets-snapshot img')]"
            f".filter(i => i.checkVisibility() && i.naturalWidth > 100).length >= {n_panels}",
            timeout=60_000,
        )
        time.sleep(3)  # the widget manager has given up on the models by now
        if os.environ.get("XNETS_BROWSER_SHOTS"):
            page.screenshot(
                path=str(Path(os.environ["XNETS_BROWSER_SHOTS"]) / "panels-reopened.png"),
                full_page=True,
            )
        assert _snapshot_images(page) == n_panels
        assert _visible_text(page, "Error displaying widget") == 0
        assert _visible(page, ".xnets-panel") == 0
    except Exception:
        request.node.failed_in_browser = True
        raise
    finally:
        lab.shutdown_kernels()
    assert tracked_state() == lab.tracked, "a tracked file of the clone changed"
