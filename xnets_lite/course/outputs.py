"""The committed notebooks carry the outputs of the full offline run, and say what made them.

``make reproduce`` executes every notebook with papermill into ``build/``; ``commit_outputs``
then copies the outputs back into ``notebooks/*.ipynb`` (sources untouched) and records a
**fingerprint**: a hash of the notebook's own sources, a hash of the package code and a hash
of the outputs it wrote. A test recomputes all three, so outputs made by other sources or
other code than what is committed fail CI, on any machine, without comparing a single
floating-point digit, and so do outputs that another run (a student's Run All in JupyterLab,
saved over the file) put there. It also writes the notebook metadata JupyterLab writes for
the course's kernel (``kernelspec``, the kernel's full ``language_info``), so that opening a
committed notebook does not modify it.

What is left out of the committed copy, because it differs between two runs of the same code
(and would dirty ``git status`` for no change in content): stderr (progress bars, warnings),
the "trained/loaded" status lines, live widget views (a reopened notebook has no kernel to
draw them; a panel's snapshot, the output before its view, stays), cells tagged
``volatile`` (timings), and papermill's timestamps.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

from xnets_lite.files import PACKAGE, atomic_write

KEY = "xnets_lite"  # notebook metadata key of the fingerprint
VOLATILE = "volatile"  # cell tag: outputs are never committed
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
INFO_CLASS = "xnets-info"  # metadata flag of the status lines (notebooks._info)
#: What every panel snapshot's style sheet holds (``widgets.Panel.SNAPSHOT_STYLE``).
SNAPSHOT_STYLE_MARK = ".jp-OutputArea:has(.xnets-panel)"


def _text(source) -> str:
    text = "".join(source) if isinstance(source, list) else str(source)
    return text.replace("\r\n", "\n")


def source_hash(nb: dict) -> str:
    """sha256 of a notebook's cells as written: type, tags and source (not outputs)."""
    digest = hashlib.sha256()
    for cell in nb["cells"]:
        tags = sorted(cell.get("metadata", {}).get("tags", []))
        digest.update(json.dumps([cell["cell_type"], tags, _text(cell["source"])]).encode())
    return digest.hexdigest()


def package_hash(package: Path = PACKAGE) -> str:
    """sha256 of every ``xnets_lite/**/*.py`` file, sub-packages included: its path relative
    to the package (``/``-separated, so the hash is the same on every OS) and its text, line
    endings normalised. Caches (``__pycache__``) hold no ``.py`` files."""
    digest = hashlib.sha256()
    for rel in sorted(p.relative_to(package).as_posix() for p in package.rglob("*.py")):
        digest.update(rel.encode() + b"\0")
        digest.update((package / rel).read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def fingerprint(nb: dict) -> dict:
    """What the committed outputs must have been made from."""
    return {"sources": source_hash(nb), "package": package_hash()}


def _canonical(value):
    """``value`` with every list of strings joined (a multi-line string is stored as either)."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            return "".join(value)
        return [_canonical(v) for v in value]
    return value


def outputs_hash(nb: dict) -> str:
    """sha256 of every code cell's outputs (as JSON, multi-line strings joined): what the
    committed run showed. A run in JupyterLab saved over the notebook changes it, so its
    outputs cannot pass for the committed run's (``staleness``)."""
    digest = hashlib.sha256()
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            outputs = _canonical(cell.get("outputs", []))
            digest.update(json.dumps(outputs, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


def language_info() -> dict:
    """The notebook metadata ``language_info`` that the course's kernel (ipykernel) reports
    and JupyterLab writes on opening a notebook: a committed notebook that already holds it
    is not modified by being opened."""
    from ipykernel.ipkernel import IPythonKernel

    return copy.deepcopy(IPythonKernel.language_info)


#: The kernel JupyterLab records for a notebook run with the course's kernel.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def complete_metadata(metadata: dict, info: dict | None = None) -> dict:
    """``metadata`` with ``kernelspec`` and ``language_info`` as JupyterLab writes them
    (``info``: the ``language_info`` a kernel reported, else ``language_info()``)."""
    out = dict(metadata)
    out["kernelspec"] = dict(KERNELSPEC)
    info = info if info and len(info) > 1 else language_info()
    out["language_info"] = copy.deepcopy(info)
    return out


def staleness(nb: dict) -> list[str]:
    """Why a committed notebook's outputs are stale, or are not the committed run's, in words
    (empty when they are current and unchanged)."""
    recorded = nb.get("metadata", {}).get(KEY)
    if not recorded:
        return ["it carries no outputs fingerprint: run `make reproduce`"]
    problems = []
    now = fingerprint(nb)
    if recorded.get("sources") != now["sources"]:
        problems.append("its cells changed since its outputs were made")
    if recorded.get("package") != now["package"]:
        problems.append("the package code (xnets_lite/**/*.py) changed since its outputs were made")
    if recorded.get("outputs") != outputs_hash(nb):
        problems.append(
            "its outputs are not those of the committed run of `make reproduce` (another run, "
            "e.g. one in JupyterLab or in the fast setting, was saved over them; "
            "`git checkout notebooks/` restores them)"
            if recorded.get("outputs")
            else "it carries no hash of its outputs"
        )
    if problems:
        problems.append("run `make reproduce` to refresh them")
    return problems


def _keep(output: dict) -> bool:
    if output.get("output_type") == "stream" and output.get("name") == "stderr":
        return False
    if output.get("metadata", {}).get(INFO_CLASS):
        return False
    data = output.get("data", {})
    # a bare widget view (nothing else but its text/plain repr) has nothing to show offline
    return WIDGET_VIEW not in data or bool(set(data) - {WIDGET_VIEW, "text/plain"})


def _without_widget_view(output: dict) -> dict:
    """A panel's output (``widgets.Panel.display``) is one bundle: the widget view and its
    static snapshot. Without a kernel only the snapshot can be shown, so keep just that."""
    if WIDGET_VIEW not in output.get("data", {}):
        return output
    output = dict(output, data={k: v for k, v in output["data"].items() if k != WIDGET_VIEW})
    if isinstance(output.get("metadata"), dict):
        output["metadata"] = {k: v for k, v in output["metadata"].items() if k != WIDGET_VIEW}
    return output


def _coalesce(outputs: list[dict]) -> list[dict]:
    """Join consecutive stream outputs of the same stream: how a kernel chunks what a cell
    prints depends on timing, not on what it printed (nbval compares them joined too)."""
    joined: list[dict] = []
    for o in outputs:
        last = joined[-1] if joined else None
        if (
            o.get("output_type") == "stream"
            and last is not None
            and last.get("output_type") == "stream"
            and last.get("name") == o.get("name")
        ):
            last["text"] = _text(last["text"]) + _text(o["text"])
        else:
            joined.append(dict(o))
    for o in joined:
        if o.get("output_type") == "stream":
            o["text"] = _text(o["text"]).splitlines(keepends=True)
    return joined


def merge_outputs(source: dict, executed: dict, dataset: str) -> dict:
    """The source notebook with the executed copy's outputs (papermill's injected cell
    dropped, cells matched by id), volatile outputs removed, and the fingerprint recorded."""
    ran = [
        c
        for c in executed["cells"]
        if "injected-parameters" not in c.get("metadata", {}).get("tags", [])
    ]
    by_id = {c.get("id"): c for c in ran}
    out = copy.deepcopy(source)
    count = 0
    for i, cell in enumerate(out["cells"]):
        if cell["cell_type"] != "code":
            continue
        twin = by_id.get(cell.get("id")) or (ran[i] if i < len(ran) else None)
        if twin is None or _text(twin["source"]) != _text(cell["source"]):
            raise ValueError(
                f"executed notebook does not match its source at cell {i}: was it "
                f"made from another version of the notebook?"
            )
        tags = cell.get("metadata", {}).get("tags", [])
        outputs = (
            []
            if VOLATILE in tags
            else _coalesce([_without_widget_view(o) for o in twin.get("outputs", []) if _keep(o)])
        )
        count += 1
        cell["outputs"] = outputs
        for o in outputs:
            if "execution_count" in o:
                o["execution_count"] = count
        cell["execution_count"] = count
    out["metadata"].pop("widgets", None)
    out["metadata"] = complete_metadata(
        out["metadata"], executed.get("metadata", {}).get("language_info")
    )
    out["metadata"][KEY] = {"dataset": dataset, **fingerprint(source), "outputs": outputs_hash(out)}
    return out


def commit_outputs(source_path, executed_path, dataset: str) -> bool:
    """Write the merged notebook over ``source_path`` when its content changed; returns
    whether it did (an unchanged rerun leaves the file, and ``git status``, alone)."""
    import nbformat

    source_path = Path(source_path)
    source = json.loads(source_path.read_text(encoding="utf-8"))
    executed = json.loads(Path(executed_path).read_text(encoding="utf-8"))
    merged = merge_outputs(source, executed, dataset)
    nbformat.validate(nbformat.from_dict(merged))
    text = json.dumps(merged, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if source_path.read_text(encoding="utf-8") == text:
        return False
    atomic_write(source_path, lambda f: f.write(text.encode("utf-8")))
    return True


# ---------------------------------------------------------------------------------------
# Checks shared by the tests of committed and executed notebooks
# ---------------------------------------------------------------------------------------
def figures_not_displayed(nb: dict) -> list[int]:
    """Indices of code cells that save a figure (the notebooks' bare ``save(``, not a method
    such as ``torch.save(`` or ``xl.save(``) but show no ``image/png``: the figure a reader
    would never see (a bare ``Figure`` renders as text without pyplot's inline backend)."""
    missing = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or not re.search(r"(?<![\w.])save\(", _text(cell["source"])):
            continue
        if VOLATILE in cell.get("metadata", {}).get("tags", []):
            continue
        if not any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            missing.append(i)
    return missing


def panel_problems(nb: dict, live: bool) -> list[str]:
    """What is wrong with the panels' outputs (cells that call a ``Panel``'s ``display()``),
    in words; empty when each is right.

    Every panel cell has exactly one snapshot (HTML of CSS class ``xnets-snapshot`` with its
    image inlined, and the same image as ``image/png``, when the panel has a figure), so a
    reader without a kernel sees the panel once, and the snapshot's output holds no widget
    view (JupyterLab would render the view instead, which after a save and a reopen says
    "Error displaying widget"). ``live`` (an executed copy): one more output holds the widget
    view alone, and the snapshot carries the style sheet that makes JupyterLab show one of
    the two (``widgets.Panel.SNAPSHOT_STYLE``). Committed copies hold no widget view."""
    problems = []
    for i, cell in enumerate(nb["cells"]):
        source = _text(cell.get("source", ""))
        if cell["cell_type"] != "code" or not ("Panel(" in source and ".display()" in source):
            continue
        snaps = [
            o
            for o in cell.get("outputs", [])
            if 'class="xnets-snapshot"' in _text(o.get("data", {}).get("text/html", ""))
        ]
        if len(snaps) != 1:
            problems.append(f"cell {i}: {len(snaps)} panel snapshots, not 1")
            continue
        data = snaps[0]["data"]
        if ("data:image/png" in _text(data["text/html"])) != ("image/png" in data):
            problems.append(f"cell {i}: the snapshot's HTML and PNG disagree on its figure")
        if WIDGET_VIEW in data:
            problems.append(
                f"cell {i}: the widget view is in the snapshot's output, so JupyterLab shows "
                f"the view (or 'Error displaying widget' once reopened without a kernel) and "
                f"never the snapshot"
            )
        views = [o for o in cell.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]
        if live and not views:
            problems.append(f"cell {i}: no live widget view")
        if len(views) > 1 or (not live and views):
            problems.append(f"cell {i}: {len(views)} widget views")
        if views and SNAPSHOT_STYLE_MARK not in _text(data["text/html"]):
            problems.append(
                f"cell {i}: the snapshot carries no style sheet, so JupyterLab would show both "
                f"it and the live widget"
            )
    return problems
