"""The notebooks' shared set-up, and the papermill pipeline that runs them in order.

Two halves:

* **In a notebook**: ``Run`` holds the parameters of one run (dataset, fast, seed, device,
  where checkpoints and figures go) and the dataset's recipe; ``Run.model(kind)`` trains or
  loads one of ``KINDS`` with that recipe, so notebook 01 trains and notebooks 02–05 load what
  01 saved (or train, when it is missing).
* **On the command line**: ``python -m xnets_lite.course.notebooks run`` executes
  ``notebooks/0*.ipynb`` in order with papermill into ``build/``, injecting the parameters.

Dataset choice (never a silent switch):

* ``--dataset svhn`` or ``--dataset mnist`` (``make reproduce DATASET=...``) is used as given;
  SVHN without data is an error that says how to get it.
* ``--dataset auto`` (the default of ``make reproduce``) uses SVHN when its files are on disk
  and otherwise falls back to full MNIST (offline), printing a loud banner at the start
  and at the end that says what failed, how to get SVHN and how to force a dataset.
* Inside a notebook, ``dataset="svhn"`` without data raises ``DataNotFoundError``.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from xnets_lite.course.outputs import INFO_CLASS
from xnets_lite.data import dataset_label
from xnets_lite.files import REPO
from xnets_lite.training.kinds import MODEL_KINDS, make_model

ROOT = REPO
NOTEBOOKS = (
    "00_tensor_networks",
    "01_training",
    "02_decomposition",
    "03_eigenvectors",
    "04_tree",
    "05_validation",
    "06_similarity",
    "07_your_own_model",
)

#: Environment variables read by the ``parameters`` cell of every notebook.
ENV = dict(
    dataset="XNETS_DATASET",
    fast="XNETS_FAST",
    seed="XNETS_SEED",
    device="XNETS_DEVICE",
    checkpoints="XNETS_CHECKPOINTS",
    figures="XNETS_FIGURES",
)

#: The χ-net kinds (and the baseline) a notebook can ask ``Run.model`` for.
KINDS = {name: kind.description for name, kind in MODEL_KINDS.items()}


# ---------------------------------------------------------------------------------------
# In a notebook
# ---------------------------------------------------------------------------------------
class NotebookDataError(Exception):
    """The data a notebook asked for is missing. In IPython it shows as a short message
    (``_render_traceback_``) with the fix that works *in a notebook*, not a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [
            f"\x1b[31m{type(self).__name__}\x1b[0m: {line}" if i == 0 else line
            for i, line in enumerate(str(self).splitlines())
        ]


#: Where ``_info`` puts its lines inside ``collected_info`` (None: shown at once).
_INFO_SINK: list[str] | None = None


@contextmanager
def collected_info():
    """Inside: status lines (``_info``) are kept in the list this yields, not shown. For work
    whose number of status lines depends on what was already on disk (``findings.
    load_or_measure`` trains and loads models, or reads a file): it shows one line of its
    own, so a cell has as many outputs whichever happened (nbval compares their number)."""
    global _INFO_SINK
    before, _INFO_SINK = _INFO_SINK, []
    try:
        yield _INFO_SINK
    finally:
        _INFO_SINK = before


def _info(text: str) -> None:
    """Show a status line ("xnet: loaded …") as information, not as a pink stderr warning.

    It is HTML, which nbval does not compare (the text differs between a run that trains and
    one that loads), and the committed notebooks leave it out for the same reason."""
    if _INFO_SINK is not None:
        _INFO_SINK.append(text)
    else:
        _show_info(text)


def _show_info(text: str) -> None:
    """``_info``'s line, shown: grey HTML in a kernel, stderr elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:  # pragma: no cover - IPython is a dependency
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(
            HTML(
                f'<div class="{INFO_CLASS}" style="color:#555;font-size:85%">'
                f"ℹ {html.escape(text)}</div>"
            ),
            metadata={INFO_CLASS: True},
        )
    else:
        print(text, file=sys.stderr)


@dataclass
class Run:
    """One run of the course: parameters plus the dataset's recipe, data, models and paths.

    Args:
        dataset: ``"svhn"`` (the paper) or ``"mnist"`` (full MNIST, offline).
        fast: the CI setting (narrower, fewer epochs, a balanced subset), same code path.
        seed: seeds model initialisation, shuffling and noise.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        checkpoints: directory for checkpoints (one file per model and recipe).
        figures: directory for figures; they go to ``<figures>/<dataset>/``.

    ``recipe`` (``recipes.recipe(dataset, fast)``) holds the width, depth, main χ-net kind
    and training hyper-parameters, each with its source.

    Every parameter may be given as the string its environment variable holds (``ENV``:
    the parameters cells pass ``os.environ``'s values unchanged) and is parsed here
    (``parse_dataset``, ``parse_flag``, ``parse_int``, ``parse_device``, ``parse_path``); a
    value it cannot use raises ``NotebookParameterError``, two lines in a notebook: what was
    wrong, then what to set in the parameters cell or the environment. Nothing is silently
    misread (``fast="no"`` is False, ``fast="maybe"`` an error).
    """

    dataset: str = "svhn"
    fast: bool = False
    seed: int = 0
    device: str = "auto"
    checkpoints: str = "../checkpoints"
    figures: str = "../build/figures"

    def __post_init__(self):
        import torch

        from xnets_lite.training.recipes import recipe

        self.dataset = parse_dataset(self.dataset)
        self.fast = parse_flag(self.fast, "fast")
        self.seed = parse_int(self.seed, "seed", minimum=0)
        self.device = parse_device(self.device)
        self.checkpoints = parse_path(self.checkpoints, "checkpoints")
        self.figures = parse_path(self.figures, "figures")
        self.recipe = recipe(self.dataset, self.fast)
        torch.manual_seed(self.seed)
        self._data = None

    # -- derived ------------------------------------------------------------------------
    width = property(lambda self: self.recipe.width)
    n_layers = property(lambda self: self.recipe.n_layers)
    epochs = property(lambda self: self.recipe.epochs)
    main = property(lambda self: self.recipe.main, doc="the χ-net kind the course decomposes")

    @property
    def label(self) -> str:
        """How every output names the data, e.g. ``"MNIST (full, offline)"``, plus fast."""
        return dataset_label(self.dataset, self.fast)

    @property
    def figure_dir(self) -> Path:
        path = Path(self.figures) / self.dataset
        path.mkdir(parents=True, exist_ok=True)
        return path

    def figure_path(self, name: str) -> Path:
        return self.figure_dir / f"{name}.png"

    def checkpoint_path(self, kind: str, **overrides) -> Path:
        """``<checkpoints>/<dataset>/<kind>-w…-l…-e…[-fast][-n…-wd…]-s<seed>.pt``: the name
        carries the recipe, so a fast run never overwrites a full one and a sweep point never
        overwrites the default (the file's stored recipe is checked again on load)."""
        overrides = self._changed(overrides)
        r = self.recipe.with_overrides(**overrides)
        name = f"{kind}-w{r.width}-l{r.n_layers}-e{r.epochs}" + ("-fast" if r.fast else "")
        for key, short in (
            ("noise_std", "n"),
            ("weight_decay", "wd"),
            ("lr", "lr"),
            ("batch_size", "b"),
        ):
            if key in overrides:
                name += f"-{short}{overrides[key]:g}"
        return Path(self.checkpoints) / self.dataset / f"{name}-s{self.seed}.pt"

    def _changed(self, overrides: dict) -> dict:
        """The overrides that differ from the recipe (an override equal to the recipe's
        value is the recipe's model, with the recipe's checkpoint)."""
        return {k: v for k, v in overrides.items() if getattr(self.recipe, k, object()) != v}

    def torch_device(self):
        from xnets_lite.training.train import resolve_device

        return resolve_device(self.device)

    # -- data and models ----------------------------------------------------------------
    def data(self):
        """``(train, test)`` of the recipe: SVHN train (+ extra in the paper's run), full
        MNIST, or in the fast setting a fixed balanced subset. Missing data raises
        ``NotebookDataError`` with the fix that works in a notebook."""
        if self._data is None:
            from xnets_lite.data import DataNotFoundError, balanced_subset, load_splits

            try:
                train, test = load_splits(self.dataset, extra=self.recipe.extra)
            except DataNotFoundError as err:
                raise NotebookDataError(notebook_data_advice(self.dataset, err)) from None
            if self.recipe.per_class is not None:
                n_train, n_test = self.recipe.per_class
                train = balanced_subset(train, n_train, seed=self.seed)
                test = balanced_subset(test, n_test, seed=self.seed)
            self._data = train, test
        return self._data

    def make(self, kind: str, **overrides):
        """An untrained model of ``kind`` (see ``KINDS``) with the recipe's sizes."""
        r = self.recipe.with_overrides(**overrides)
        train, _ = self.data()
        return make_model(kind, train.d_input, r.width, train.n_classes, r.n_layers)

    def model(
        self,
        kind: str = "xnet",
        progress: bool | None = None,
        name: str | None = None,
        **overrides,
    ):
        """Train or load one model (``train_or_load``): ``(model, meta)``, model on CPU in
        eval mode. ``overrides`` change recipe values for this model only (e.g.
        ``noise_std=0.0`` or ``n_layers=1``); each gets its own checkpoint. ``name``: what
        the status line and progress bar call it (default: ``kind``; 01 says ``mlp-wide``
        for the widened MLP)."""
        from xnets_lite.training.checkpoint import train_or_load

        train, test = self.data()
        r = self.recipe.with_overrides(**overrides)
        path = self.checkpoint_path(kind, **overrides)
        before = path.stat().st_mtime_ns if path.exists() else None
        start = time.perf_counter()
        model, meta = train_or_load(
            path,
            lambda: self.make(kind, **overrides),
            train,
            test,
            seed=self.seed,
            device=self.torch_device(),
            progress=(not self.fast) if progress is None else progress,
            desc=name or kind,
            **r.train_kwargs,
        )
        model.cpu().eval()
        after = path.stat().st_mtime_ns if path.exists() else None
        how = "loaded" if before is not None and before == after else "trained and saved"
        _info(f"{name or kind}: {how} {_rel(path)} in {time.perf_counter() - start:.1f} s")
        return model, meta

    def models(self, kinds=("xnet", "xnet-rms", "mlp")) -> dict:
        """``{kind: (model, meta)}`` for several kinds."""
        return {kind: self.model(kind) for kind in kinds}

    def banner(self) -> str:
        """The first line every notebook prints (``print(run)``): which run the outputs below
        come from, so that no run's outputs can pass for another's (the committed notebooks
        show the full-MNIST run of ``make reproduce``; a student's run says its own)."""
        setting = "fast CI setting (small sizes, same code)" if self.fast else "full setting"
        data = dataset_label(self.dataset)
        line = f"OUTPUTS BELOW: this run's, {data}, {setting}, seed {self.seed}."
        if self.dataset != "svhn":
            line += " The paper's dataset is SVHN: these are not SVHN results."
        return line

    def __str__(self) -> str:
        return f"{self.banner()}\n{self!r}"

    def seed_models(self, kind: str = "xnet", seeds=(0, 1, 2), **overrides) -> dict:
        """``{seed: model}``: one model of ``kind`` per seed, each trained or loaded exactly as
        ``Run(seed=s).model(kind)`` would (its own checkpoint). On full data every seed sees
        the same images (only the initialisation and the shuffling differ); in the fast
        setting each seed draws its own balanced subset, as a run with that seed does. The
        global random state is left as it was."""
        from dataclasses import replace

        import torch

        out = {}
        with torch.random.fork_rng(devices=[]):
            for s in seeds:
                other = self if s == self.seed else replace(self, seed=s)
                out[s] = other.model(kind, progress=False, **overrides)[0]
        return out

    def __repr__(self) -> str:
        return (
            f"Run(dataset={self.dataset!r} [{self.label}], width={self.width}, "
            f"n_layers={self.n_layers}, epochs={self.epochs}, main={self.main!r}, "
            f"seed={self.seed}, device={self.device!r})"
        )


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")


class NotebookParameterError(NotebookDataError, ValueError):
    """A parameter of a notebook has a value it cannot use. Shown in a notebook as a short
    message (no traceback): what was wrong, then where to fix it (the parameters cell, or
    the environment variable the parameters cell reads)."""


def _fix(name: str, example: str, env_example: str) -> str:
    return (
        f"Set {name} = {example} in the notebook's parameters cell, or start Jupyter with "
        f"{ENV[name]}={env_example}."
    )


def parse_flag(value, name: str = "fast") -> bool:
    """``True``/``False`` from a bool, 0/1, or a string: ``"1"``, ``"true"``, ``"yes"``,
    ``"on"`` / ``"0"``, ``"false"``, ``"no"``, ``"off"``, ``""`` (any case, spaces ignored).
    Anything else is refused, never silently read as true or false.

    >>> parse_flag("no"), parse_flag("TRUE"), parse_flag(1)
    (False, True, True)
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise NotebookParameterError(
        f"{name} = {value!r} is not a yes/no value (use True/False; as text: "
        f"{'/'.join(_TRUE)} or {'/'.join(f for f in _FALSE if f)}).\n" + _fix(name, "False", "0")
    )


def parse_int(value, name: str = "seed", minimum: int | None = None) -> int:
    """An integer parameter from an int or a string of digits (``"3"``, ``" 3 "``, ``"-1"``);
    floats, booleans, ``"3.0"`` and the like are refused, as is a value below ``minimum``.

    >>> parse_int(" 7 ", "seed")
    7
    """
    text = str(value).strip()
    ok = not isinstance(value, (bool, float)) and text.lstrip("-").isdigit()
    if not ok or (minimum is not None and int(text) < minimum):
        kind = "an integer" if minimum is None else f"an integer ≥ {minimum}"
        raise NotebookParameterError(f"{name} = {value!r} is not {kind}.\n" + _fix(name, "0", "0"))
    return int(text)


def parse_dataset(value) -> str:
    """``"svhn"`` or ``"mnist"`` (any case); anything else is refused with the fix."""
    from xnets_lite.data import DATASETS

    name = str(value).strip().lower()
    if name not in DATASETS:
        raise NotebookParameterError(
            f"dataset = {value!r} is not a dataset of this course (choose "
            f"{' or '.join(repr(d) for d in DATASETS)}).\n"
            + _fix("dataset", '"mnist"', "mnist")
            + ' ("svhn" is the paper\'s data.)'
        )
    return name


def parse_device(value) -> str:
    """``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or
    ``"mps"``; anything else, or a GPU that is not there, is refused with the fix (in our
    words, not torch's list of every device type it knows)."""
    from xnets_lite.training.train import resolve_device

    text = str(value).strip().lower()
    kind, _, index = text.partition(":")
    if text == "auto" or (kind in ("cpu", "cuda", "mps") and (not index or index.isdigit())):
        try:
            resolve_device(text)  # the one availability check (train's), in a notebook's words
        except RuntimeError:
            raise NotebookParameterError(
                f"device = {value!r}, but {kind.upper()} is not available here.\n"
                + _fix("device", '"auto"', "auto")
            ) from None
        return text
    raise NotebookParameterError(
        f"device = {value!r} is not a device (choose one of {', '.join(DEVICES)}).\n"
        + _fix("device", '"auto"', "auto")
    )


def parse_path(value, name: str) -> str:
    """A directory parameter: any non-empty path (``~`` expanded). An empty one would write
    into the notebook's own folder, so it is refused."""
    text = os.path.expanduser(str(value).strip())
    if not text:
        default = getattr(Run, name)
        raise NotebookParameterError(
            f"{name} = {value!r} is empty.\n" + _fix(name, f'"{default}"', default)
        )
    return text


def notebook_data_advice(dataset: str, err: Exception) -> str:
    """What to do when a notebook's data is missing, in a notebook's terms (its parameters
    cell and the environment variables it reads, not command-line flags): what is missing,
    then the fixes."""
    import re

    # the data module's first sentence says what is missing; drop its command-line advice
    first = re.sub(r"\s*\([^)]*(--|argument)[^)]*\)", "", str(err).split(". ")[0]).rstrip(".")
    fixes = (
        'Set dataset = "mnist" in the notebook\'s parameters cell (full MNIST, offline) '
        "or start Jupyter with XNETS_DATASET=mnist"
    )
    if dataset == "svhn":
        from xnets_lite.data import SVHN_URL

        fixes += (
            f"; for SVHN, put its .mat files from {SVHN_URL} in {_data_dir_hint()} (or "
            f"start Jupyter with XNETS_DATA=<their folder>)"
        )
    return f"{first}.\n{fixes}, and re-run the notebook."


def _data_dir_hint() -> str:
    from xnets_lite.data import data_root

    return str(data_root().resolve())


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def save(fig, run: Run, name: str, full_dpi: int | None = None) -> str:
    """Save ``fig`` as ``<figures>/<dataset>/<name>.png`` (byte-stable, ``plots.DPI``), show
    that same PNG in the notebook, and return where it went.

    ``full_dpi`` (e.g. 200 for a dense figure such as the tree) also writes
    ``<name>_full.png`` at that resolution, for zooming in; the notebook shows the first.
    Showing the saved bytes (not the figure object) means the image appears whatever
    matplotlib backend the kernel has, and the notebook shows exactly the written file.
    A pyplot-managed figure is closed, so it is not drawn a second time at the cell's end.
    """
    from xnets_lite.viz.plots import save_figure

    path = run.figure_path(name)
    save_figure(fig, path)
    written = [_rel(path)]
    if full_dpi:
        written.append(_rel(save_figure(fig, run.figure_path(f"{name}_full"), dpi=full_dpi)))
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # never import pyplot (and pick a backend) just to close
        pyplot.close(fig)  # a no-op for a figure pyplot does not manage
    try:
        from IPython import get_ipython
        from IPython.display import Image, display

        if get_ipython() is not None:
            display(Image(data=path.read_bytes(), format="png"))
    except ImportError:  # pragma: no cover
        pass
    return "saved " + " and ".join(written)


# ---------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------
def svhn_available(root=None, extra: bool = False) -> tuple[bool, str]:
    """Whether SVHN's files are on disk (train and test, plus extra for the paper's run),
    and a sentence on what is missing."""
    from xnets_lite.data import svhn_path

    splits = ("train", "test", "extra") if extra else ("train", "test")
    missing = [
        str(svhn_path(root, split).resolve())
        for split in splits
        if not svhn_path(root, split).is_file()
    ]
    if missing:
        return False, "SVHN files not found: " + ", ".join(missing)
    return True, ""


def banner(lines: list[str]) -> str:
    width = max(len(line) for line in lines) + 4
    bar = "!" * width
    return "\n".join([bar] + [f"! {line.ljust(width - 4)} !" for line in lines] + [bar])


def fallback_message(reason: str) -> str:
    from xnets_lite.data import DATA_ENV, SVHN_URL

    return banner(
        [
            "DATASET FALLBACK: running on full MNIST (offline), NOT on SVHN (the paper's data).",
            f"Why: {reason}.",
            f"To use SVHN: put train_32x32.mat, test_32x32.mat and extra_32x32.mat from {SVHN_URL}",
            f"  into ./data (or ${DATA_ENV}), or run "
            "`python -m xnets_lite train --dataset svhn --download`.",
            "To choose explicitly: make reproduce DATASET=svhn  (error if missing)",
            "                      make reproduce DATASET=mnist (offline, no banner).",
            "Every output and figure is labelled with the dataset actually used.",
        ]
    )


def resolve_dataset(requested: str | None, fast: bool = False) -> tuple[str, str | None]:
    """``(dataset, fallback_banner_or_None)``. ``auto``/empty → SVHN if present else MNIST
    with a banner; an explicit ``svhn`` without data raises ``DataNotFoundError``. The
    paper's run (not ``fast``) needs SVHN's extra split too."""
    from xnets_lite.data import DATASETS, DataNotFoundError
    from xnets_lite.training.recipes import recipe

    requested = (requested or "auto").lower()
    extra = recipe("svhn", fast).extra
    if requested == "auto":
        ok, reason = svhn_available(extra=extra)
        return ("svhn", None) if ok else ("mnist", fallback_message(reason))
    if requested not in DATASETS:
        raise SystemExit(f"unknown dataset {requested!r}; choose auto, {', '.join(DATASETS)}")
    if requested == "svhn":
        ok, reason = svhn_available(extra=extra)
        if not ok:
            raise DataNotFoundError(
                f"DATASET=svhn was asked for explicitly, but {reason}. Download it "
                f"(`python -m xnets_lite train --dataset svhn --download`, or the .mat files "
                f"into ./data or $XNETS_DATA), or run offline with DATASET=mnist."
            )
    return requested, None


def _quiet_papermill() -> None:
    """Papermill warns that it cannot parse ``fast = os.environ.get(...) == "1"`` and then that
    ``fast`` is an unknown parameter; both are expected (our defaults read the environment) and
    the parameter is injected anyway. Drop just those two messages."""
    import logging

    class _Filter(logging.Filter):
        def filter(self, record):
            msg = record.getMessage()
            return not (
                msg.startswith("Unable to parse line") or msg.startswith("Passed unknown parameter")
            )

    for name in ("papermill", "papermill.translators"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Filter) for f in logger.filters):
            logger.addFilter(_Filter())


def run_notebooks(
    dataset: str = "auto",
    fast: bool = False,
    out: str | os.PathLike = "build",
    checkpoints: str | os.PathLike | None = None,
    figures: str | os.PathLike | None = None,
    seed: int = 0,
    device: str = "auto",
    only: list[str] | None = None,
    timeout: int = 1800,
    commit: bool | None = None,
    solutions: bool = False,
    jobs: int = 1,
    child: bool = False,
) -> list[Path]:
    """Execute the notebooks in order with papermill; returns the executed copies' paths.

    Parameters are injected (absolute paths), so the executed copies in ``out`` re-run
    identically under nbval. Defaults: fast runs keep checkpoints and figures inside ``out``
    (CI never touches ``figures/``); full runs use ``checkpoints/`` and ``figures/``.
    ``commit`` (default: a full run on mnist into the repository's ``figures/``) copies the
    outputs back into ``notebooks/*.ipynb`` (``outputs.commit_outputs``).
    ``solutions`` runs every notebook with each exercise's stub replaced by its solution
    from ``solutions/`` (``exercises.fill_solutions``); such a run is never committed.
    ``jobs`` > 1 runs that many notebooks at once, each in a process of its own, in an
    order that respects what each loads from the others (``schedule.py``; ``make test``'s
    fast run); ``child`` is such a process (console lines only, no bars, no timings file).

    The console shows the notebook, papermill's cell counter and the kernel's status line
    (``status.py``: the model and epoch training); the kernels talk over local IPC sockets.
    """
    _quiet_papermill()
    plan = _plan(dataset, fast, out, checkpoints, figures, seed, device, only, commit, solutions)
    if plan.warning and not child:
        print(plan.warning, file=sys.stderr, flush=True)
    if not child:
        print(
            f"running {len(plan.names)} notebooks on dataset={plan.dataset} "
            f"({'fast' if fast else 'full'}) into {_rel(plan.out)}; "
            f"figures → {_rel(plan.figures / plan.dataset)}"
            + (f"; {jobs} at a time" if jobs > 1 else ""),
            file=sys.stderr,
            flush=True,
        )
    # The kernels inherit this: the package importable from a fresh clone without installing.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    if jobs > 1 and len(plan.names) > 1:
        timings = _run_side_by_side(plan, jobs, timeout)
    else:
        timings = _run_in_order(plan, timeout, bars=not child)
    done = [plan.out / f"{name}.ipynb" for name in plan.names]
    if child:
        return done
    (plan.out / "timings.json").write_text(
        json.dumps(dict(dataset=plan.dataset, fast=bool(fast), seconds=timings), indent=1) + "\n"
    )
    print(
        f"done: {len(done)} notebooks on dataset={plan.dataset} in "
        f"{sum(timings.values()):.0f} s of notebook time; figures in "
        f"{_rel(plan.figures / plan.dataset)}",
        file=sys.stderr,
        flush=True,
    )
    _update_readme(plan, fast)
    if plan.warning:
        print(plan.warning, file=sys.stderr, flush=True)
    return done


def _run_in_order(plan: _Plan, timeout: int, bars: bool = True) -> dict[str, float]:
    """Run ``plan``'s notebooks one after the other in this process; their seconds."""
    from tqdm.auto import tqdm

    timings = {}
    bar = tqdm(plan.names, desc="notebooks", unit="nb", file=sys.stderr, disable=not bars)
    for name in bar:
        bar.set_description(f"notebook {name}")
        start = time.perf_counter()
        target = _execute(plan, name, bar, timeout, cells_bar=bars)
        timings[name] = round(time.perf_counter() - start, 1)
        note = _commit_note(plan, name, target)
        tqdm.write(f"  {name}: {timings[name]} s → {_rel(target)}{note}", file=sys.stderr)
    bar.close()
    return timings


def _run_side_by_side(plan: _Plan, jobs: int, timeout: int) -> dict[str, float]:
    """Run ``plan``'s notebooks ``jobs`` at a time, each in a child process (``schedule``)."""
    from xnets_lite.course import schedule

    p = plan.params
    options = ["--dataset", plan.dataset, "--out", str(plan.out), "--child"]
    options += ["--checkpoints", p["checkpoints"], "--figures", p["figures"]]
    options += ["--seed", str(p["seed"]), "--device", p["device"], "--timeout", str(timeout)]
    options += ["--fast"] * p["fast"] + ["--solutions"] * plan.solutions
    options += ["--commit", "yes" if plan.commit else "no"]  # as this run decided
    start = schedule.launcher(options, jobs, plan.out / ".logs")
    return schedule.run_side_by_side(plan.names, jobs, start)  # each child prints its line


def _update_readme(plan: _Plan, fast: bool) -> None:
    """After a run that committed its outputs (full setting, mnist, into the repository's
    ``figures/``): the README's results block from the committed notebooks and
    ``figures/mnist/findings.md`` (``readme.update_readme``). Never after a fast run, a run
    on another dataset or one whose figures went elsewhere."""
    from xnets_lite.course import readme

    if not plan.commit or fast or plan.dataset != "mnist":
        return
    if (plan.figures / "mnist" / "findings.md").resolve() != readme.FINDINGS.resolve():
        return
    changed = readme.update_readme()
    print(f"README.md results {'updated' if changed else 'unchanged'}", file=sys.stderr)


@dataclass
class _Plan:
    """What ``run_notebooks`` runs: the dataset (and its fallback banner), the folders, the
    parameters injected into every notebook, the notebooks, and whether outputs are
    committed or solutions filled in."""

    dataset: str
    warning: str | None
    out: Path
    figures: Path
    params: dict
    names: list[str]
    commit: bool
    solutions: bool


def _plan(dataset, fast, out, checkpoints, figures, seed, device, only, commit, solutions):
    """``run_notebooks``'s arguments resolved into a ``_Plan`` (``out`` is created)."""
    chosen, warning = resolve_dataset(dataset, fast)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = Path(checkpoints or (out / "checkpoints" if fast else ROOT / "checkpoints"))
    figures = Path(figures or (out / "figures" if fast else ROOT / "figures"))
    params = dict(
        dataset=chosen,
        fast=bool(fast),
        seed=int(seed),
        device=device,
        checkpoints=str(checkpoints.resolve()),
        figures=str(figures.resolve()),
    )
    names = [n for n in NOTEBOOKS if not only or any(n.startswith(o) for o in only)]
    if solutions:
        commit = False
    if commit is None:
        commit = (
            not fast and chosen == "mnist" and figures.resolve() == (ROOT / "figures").resolve()
        )
    return _Plan(chosen, warning, out, figures, params, names, bool(commit), solutions)


def _execute(plan: _Plan, name: str, bar, timeout: int, cells_bar: bool = True) -> Path:
    """Run one notebook with papermill into ``plan.out``, its kernel's status line shown as
    the postfix of ``bar`` (``_StatusWatcher``); returns the executed copy's path."""
    import papermill as pm

    target = plan.out / f"{name}.ipynb"
    source = ROOT / "notebooks" / f"{name}.ipynb"
    if plan.solutions:
        source = _with_solutions(source, plan.out / ".with-solutions")
    with _StatusWatcher(plan.out / f".status-{name}", bar):
        pm.execute_notebook(
            str(source),
            str(target),
            parameters=plan.params,
            cwd=str(ROOT / "notebooks"),
            kernel_name="python3",
            kernel_manager_class=_local_kernel_manager(),
            progress_bar=dict(desc="  cells", leave=False, file=sys.stderr) if cells_bar else False,
            execution_timeout=timeout,
        )
    return target


def _commit_note(plan: _Plan, name: str, target: Path) -> str:
    """Copy the executed outputs into ``notebooks/`` when the plan commits; what was done."""
    if not plan.commit:
        return ""
    from xnets_lite.course.outputs import commit_outputs

    changed = commit_outputs(ROOT / "notebooks" / f"{name}.ipynb", target, plan.dataset)
    return "; outputs → notebooks/ " + ("(updated)" if changed else "(unchanged)")


def _local_kernel_manager():
    """nbclient's kernel manager with the kernel on local IPC sockets instead of TCP.

    Over TCP without CurveZMQ keys ipykernel (7.x, ``IPKernelApp.init_sockets``) warns, once
    per kernel, that code and outputs travel in plain text; a kernel on the same machine
    needs no network at all, and IPC sockets (files in Jupyter's runtime folder, a name of
    their own per kernel, removed when it stops) end both the exposure and the warning."""
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import default

    class LocalKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

        @default("ip")
        def _ip_default(self) -> str:
            # The sockets' path prefix: jupyter_client's default ("kernel-ipc" in the working
            # folder, numbered by the first free file) lets two kernels started at once pick
            # the same sockets; a name of its own in the runtime folder cannot collide.
            folder = jupyter_runtime_dir()
            os.makedirs(folder, exist_ok=True)
            return os.path.join(folder, f"xnets-{uuid.uuid4().hex[:12]}-ipc")

    return LocalKernelManager


class _StatusWatcher:
    """While a notebook runs: its kernel's status line (``status.py``, the file given to the
    kernel in ``$XNETS_STATUS_FILE``) shown as ``bar``'s postfix, polled twice a second.
    On a console that is not a terminal (a log), each finished epoch is a line of its own
    and the bar's postfix is left alone (every change would be a line of the log)."""

    def __init__(self, path: Path, bar, every: float = 0.5):
        import threading

        self.path, self.bar, self.every = path, bar, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.lines = not getattr(sys.stderr, "isatty", lambda: False)()

    def __enter__(self) -> _StatusWatcher:
        from xnets_lite.training import status

        self.path.unlink(missing_ok=True)
        self.before = os.environ.get(status.ENV)
        os.environ[status.ENV] = str(self.path)  # the kernel inherits it
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        from xnets_lite.training import status

        self.stop.set()
        self.thread.join()
        if self.before is None:
            os.environ.pop(status.ENV, None)
        else:
            os.environ[status.ENV] = self.before
        self.path.unlink(missing_ok=True)
        self.bar.set_postfix_str("")

    def _watch(self) -> None:
        from tqdm.auto import tqdm

        from xnets_lite.training import status

        follower, stopping = status.Follower(self.path), False
        while not stopping:
            stopping = self.stop.wait(self.every)  # one last look after the notebook ends
            lines = follower.new()
            if self.lines:  # a log: the finished epochs, one line each
                for line in lines:
                    if " done · " in line:
                        tqdm.write(f"    {line}", file=sys.stderr)
            elif lines:
                self.bar.set_postfix_str(lines[-1])


def _with_solutions(source: Path, folder: Path) -> Path:
    """A copy of the notebook at ``source`` in ``folder`` with every exercise solved."""
    from xnets_lite.course.exercises import fill_solutions

    filled = fill_solutions(json.loads(source.read_text(encoding="utf-8")))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / source.name
    path.write_text(json.dumps(filled, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _parser() -> argparse.ArgumentParser:
    """The command line: ``run`` and its options."""
    parser = argparse.ArgumentParser(
        prog="python -m xnets_lite.course.notebooks", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the notebooks in order with papermill")
    run.add_argument(
        "--dataset",
        default=os.environ.get("DATASET") or "auto",
        help="auto (SVHN if on disk, else full MNIST offline, loudly), svhn "
        "or mnist; default $DATASET or auto",
    )
    run.add_argument("--fast", action="store_true", help="the small CI setting")
    run.add_argument("--out", default="build", help="where executed notebooks go (build/)")
    run.add_argument("--checkpoints", default=None)
    run.add_argument("--figures", default=None, help="figures go to <figures>/<dataset>/")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--device", default="auto")
    run.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 00 02")
    run.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    run.add_argument(
        "--solutions",
        action="store_true",
        help="fill in every exercise's solution (solutions/); never committed",
    )
    run.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="notebooks run at once, each in its own process, with cores/jobs threads "
        "(make test's fast run: 2); the order respects what each loads from the others",
    )
    # A notebook of a --jobs run, started by the pipeline itself (schedule.py).
    run.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    run.add_argument("--commit", choices=("yes", "no"), help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    from xnets_lite.course.schedule import NotebookFailed
    from xnets_lite.data import DataNotFoundError

    try:
        run_notebooks(
            args.dataset,
            args.fast,
            args.out,
            args.checkpoints,
            args.figures,
            args.seed,
            args.device,
            args.only,
            args.timeout,
            commit=None if args.commit is None else args.commit == "yes",
            solutions=args.solutions,
            jobs=args.jobs,
            child=args.child,
        )
    except DataNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except NotebookFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
