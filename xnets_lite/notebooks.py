"""The notebooks' shared set-up, and the papermill pipeline that runs them in order.

Two halves:

* **In a notebook**: ``Run`` holds the parameters of one run (dataset, fast, seed, device,
  where checkpoints and figures go) and the dataset's recipe; ``Run.model(kind)`` trains or
  loads one of ``KINDS`` with that recipe, so notebook 01 trains and notebooks 02–05 load what
  01 saved (or train, when it is missing).
* **On the command line**: ``python -m xnets_lite.notebooks run`` executes
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
from dataclasses import dataclass
from pathlib import Path

from .outputs import INFO_CLASS

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ("00_tensor_networks", "01_training", "02_decomposition", "03_eigenvectors",
             "04_tree", "05_validation")

#: Environment variables read by the ``parameters`` cell of every notebook.
ENV = dict(dataset="XNETS_DATASET", fast="XNETS_FAST", seed="XNETS_SEED", device="XNETS_DEVICE",
           checkpoints="XNETS_CHECKPOINTS", figures="XNETS_FIGURES")

#: The χ-net kinds (and the baseline) a notebook can ask ``Run.model`` for.
KINDS = {
    "xnet": "χ-net, residual blocks x + D(Lx ⊙ Rx), no normalisation (a pure tree)",
    "xnet-direct": "χ-net, the paper's direct layer (Ax) ⊙ (Bx) with a scalar running RMS",
    "xnet-rms": "χ-net, residual blocks with a per-sample RMS norm (exact only up to a scale)",
    "mlp": "ReLU MLP, residual blocks x + W₂ relu(W₁x), the conventional baseline",
}


# ---------------------------------------------------------------------------------------
# In a notebook
# ---------------------------------------------------------------------------------------
class NotebookDataError(Exception):
    """The data a notebook asked for is missing. In IPython it shows as a short message
    (``_render_traceback_``) with the fix that works *in a notebook*, not a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {line}" if i == 0 else line
                for i, line in enumerate(str(self).splitlines())]


def _info(text: str) -> None:
    """Show a status line ("xnet: loaded …") as information, not as a pink stderr warning.

    It is HTML, which nbval does not compare (the text differs between a run that trains and
    one that loads), and the committed notebooks leave it out for the same reason."""
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:  # pragma: no cover - IPython is a dependency
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(HTML(f'<div class="{INFO_CLASS}" style="color:#555;font-size:85%">'
                     f"ℹ {html.escape(text)}</div>"), metadata={INFO_CLASS: True})
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
    """

    dataset: str = "svhn"
    fast: bool = False
    seed: int = 0
    device: str = "auto"
    checkpoints: str = "../checkpoints"
    figures: str = "../figures"

    def __post_init__(self):
        import torch

        from .data import DATASETS
        from .recipes import recipe

        self.dataset = str(self.dataset).lower()
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        self.fast = bool(self.fast)
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
        name = {"mnist": "MNIST (full, offline)", "svhn": "SVHN (grayscale)"}[self.dataset]
        return name + (", fast CI run" if self.fast else "")

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
        for key, short in (("noise_std", "n"), ("weight_decay", "wd"), ("lr", "lr"),
                           ("batch_size", "b")):
            if key in overrides:
                name += f"-{short}{overrides[key]:g}"
        return Path(self.checkpoints) / self.dataset / f"{name}-s{self.seed}.pt"

    def _changed(self, overrides: dict) -> dict:
        """The overrides that differ from the recipe (an override equal to the recipe's
        value is the recipe's model, with the recipe's checkpoint)."""
        return {k: v for k, v in overrides.items() if getattr(self.recipe, k, object()) != v}

    def torch_device(self):
        from .train import resolve_device
        return resolve_device(self.device)

    # -- data and models ----------------------------------------------------------------
    def data(self):
        """``(train, test)`` of the recipe: SVHN train (+ extra in the paper's run), full
        MNIST, or in the fast setting a fixed balanced subset. Missing data raises
        ``NotebookDataError`` with the fix that works in a notebook."""
        if self._data is None:
            from .data import DataNotFoundError, balanced_subset, load_splits
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
        from .model import MLP, XNet
        r = self.recipe.with_overrides(**overrides)
        train, _ = self.data()
        sizes = dict(d_input=train.d_input, d_model=r.width, d_hidden=r.width,
                     n_classes=train.n_classes, n_layers=r.n_layers)
        if kind == "xnet":
            return XNet(**sizes)
        if kind == "xnet-direct":
            return XNet(**sizes, block="direct", norm="batch-rms")
        if kind == "xnet-rms":
            return XNet(**sizes, norm="rms")
        if kind == "mlp":
            return MLP(**sizes, activation="relu")
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")

    def model(self, kind: str = "xnet", progress: bool | None = None, **overrides):
        """Train or load one model (``train_or_load``): ``(model, meta)``, model on CPU in
        eval mode. ``overrides`` change recipe values for this model only (e.g.
        ``noise_std=0.0`` or ``n_layers=1``); each gets its own checkpoint."""
        from .checkpoint import train_or_load

        train, test = self.data()
        r = self.recipe.with_overrides(**overrides)
        path = self.checkpoint_path(kind, **overrides)
        before = path.stat().st_mtime_ns if path.exists() else None
        start = time.perf_counter()
        model, meta = train_or_load(path, lambda: self.make(kind, **overrides), train, test,
                                    seed=self.seed, device=self.torch_device(),
                                    progress=(not self.fast) if progress is None else progress,
                                    desc=kind, **r.train_kwargs)
        model.cpu().eval()
        after = path.stat().st_mtime_ns if path.exists() else None
        how = "loaded" if before is not None and before == after else "trained and saved"
        _info(f"{kind}: {how} {_rel(path)} in {time.perf_counter() - start:.1f} s")
        return model, meta

    def models(self, kinds=("xnet", "xnet-rms", "mlp")) -> dict:
        """``{kind: (model, meta)}`` for several kinds."""
        return {kind: self.model(kind) for kind in kinds}

    def __repr__(self) -> str:
        return (f"Run(dataset={self.dataset!r} [{self.label}], width={self.width}, "
                f"n_layers={self.n_layers}, epochs={self.epochs}, main={self.main!r}, "
                f"seed={self.seed}, device={self.device!r})")


def notebook_data_advice(dataset: str, err: Exception) -> str:
    """What to do when a notebook's data is missing: the notebook's own fixes first."""
    first = str(err).split(". ")[0]
    return (f"{first}.\n"
            f"In a notebook: set dataset = \"mnist\" in the parameters cell (full MNIST, offline), "
            f"or start Jupyter with XNETS_DATASET=mnist; for {dataset.upper()}, put its files in "
            f"{_data_dir_hint()} (or set XNETS_DATA) and re-run.")


def _data_dir_hint() -> str:
    from .data import data_root
    return str(data_root().resolve())


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def save(fig, run: Run, name: str) -> str:
    """Save ``fig`` as ``<figures>/<dataset>/<name>.png`` (byte-stable), show that same PNG
    in the notebook, and return where it went.

    Showing the saved bytes (not the figure object) means the image appears whatever
    matplotlib backend the kernel has, and the notebook shows exactly the committed file.
    A pyplot-managed figure is closed, so it is not drawn a second time at the cell's end.
    """
    from .plots import save_figure
    path = run.figure_path(name)
    save_figure(fig, path)
    import matplotlib.pyplot as plt
    plt.close(fig)  # a no-op for a figure pyplot does not manage
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
        if get_ipython() is not None:
            display(Image(data=path.read_bytes(), format="png"))
    except ImportError:  # pragma: no cover
        pass
    return f"saved {_rel(path)}"


# ---------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------
def svhn_available(root=None, extra: bool = False) -> tuple[bool, str]:
    """Whether SVHN's files are on disk (train and test, plus extra for the paper's run),
    and a sentence on what is missing."""
    from .data import svhn_path
    splits = ("train", "test", "extra") if extra else ("train", "test")
    missing = [str(svhn_path(root, split).resolve()) for split in splits
               if not svhn_path(root, split).is_file()]
    if missing:
        return False, "SVHN files not found: " + ", ".join(missing)
    return True, ""


def banner(lines: list[str]) -> str:
    width = max(len(line) for line in lines) + 4
    bar = "!" * width
    return "\n".join([bar] + [f"! {line.ljust(width - 4)} !" for line in lines] + [bar])


def fallback_message(reason: str) -> str:
    from .data import DATA_ENV, SVHN_URL
    return banner([
        "DATASET FALLBACK: running on full MNIST (offline), NOT on SVHN (the paper's data).",
        f"Why: {reason}.",
        f"To use SVHN: put train_32x32.mat, test_32x32.mat and extra_32x32.mat from {SVHN_URL}",
        f"  into ./data (or ${DATA_ENV}), or run `python -m xnets_lite train --dataset svhn --download`.",
        "To choose explicitly: make reproduce DATASET=svhn  (error if missing)",
        "                      make reproduce DATASET=mnist (offline, no banner).",
        "Every output and figure is labelled with the dataset actually used.",
    ])


def resolve_dataset(requested: str | None, fast: bool = False) -> tuple[str, str | None]:
    """``(dataset, fallback_banner_or_None)``. ``auto``/empty → SVHN if present else MNIST
    with a banner; an explicit ``svhn`` without data raises ``DataNotFoundError``. The
    paper's run (not ``fast``) needs SVHN's extra split too."""
    from .data import DATASETS, DataNotFoundError
    from .recipes import recipe
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
                f"into ./data or $XNETS_DATA), or run offline with DATASET=mnist.")
    return requested, None


def _quiet_papermill() -> None:
    """Papermill warns that it cannot parse ``fast = os.environ.get(...) == "1"`` and then that
    ``fast`` is an unknown parameter; both are expected (our defaults read the environment) and
    the parameter is injected anyway. Drop just those two messages."""
    import logging

    class _Filter(logging.Filter):
        def filter(self, record):
            msg = record.getMessage()
            return not (msg.startswith("Unable to parse line") or
                        msg.startswith("Passed unknown parameter"))

    for name in ("papermill", "papermill.translators"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Filter) for f in logger.filters):
            logger.addFilter(_Filter())


def run_notebooks(dataset: str = "auto", fast: bool = False, out: str | os.PathLike = "build",
                  checkpoints: str | os.PathLike | None = None,
                  figures: str | os.PathLike | None = None, seed: int = 0,
                  device: str = "auto", only: list[str] | None = None,
                  timeout: int = 1800, commit: bool | None = None) -> list[Path]:
    """Execute the notebooks in order with papermill; returns the executed copies' paths.

    Parameters are injected (absolute paths), so the executed copies in ``out`` re-run
    identically under nbval. Defaults: fast runs keep checkpoints and figures inside ``out``
    (CI never touches ``figures/``); full runs use ``checkpoints/`` and ``figures/``.
    ``commit`` (default: a full run on mnist into the repository's ``figures/``) copies the
    outputs back into ``notebooks/*.ipynb`` (``outputs.commit_outputs``).
    """
    from .outputs import commit_outputs

    import papermill as pm
    from tqdm.auto import tqdm

    _quiet_papermill()
    chosen, warning = resolve_dataset(dataset, fast)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = Path(checkpoints or (out / "checkpoints" if fast else ROOT / "checkpoints"))
    figures = Path(figures or (out / "figures" if fast else ROOT / "figures"))
    params = dict(dataset=chosen, fast=bool(fast), seed=int(seed), device=device,
                  checkpoints=str(checkpoints.resolve()), figures=str(figures.resolve()))
    names = [n for n in NOTEBOOKS if not only or any(n.startswith(o) for o in only)]
    if commit is None:
        commit = not fast and chosen == "mnist" and figures.resolve() == (ROOT / "figures").resolve()
    if warning:
        print(warning, file=sys.stderr, flush=True)
    print(f"running {len(names)} notebooks on dataset={chosen} ({'fast' if fast else 'full'}) "
          f"into {_rel(out)}; figures → {_rel(figures / chosen)}", file=sys.stderr, flush=True)
    # The kernels inherit this: the package importable from a fresh clone without installing.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    done, timings = [], {}
    bar = tqdm(names, desc="notebooks", unit="nb", file=sys.stderr)
    for name in bar:
        bar.set_description(f"notebook {name}")
        start = time.perf_counter()
        target = out / f"{name}.ipynb"
        pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(target),
                            parameters=params, cwd=str(ROOT / "notebooks"), kernel_name="python3",
                            progress_bar=False, execution_timeout=timeout)
        timings[name] = round(time.perf_counter() - start, 1)
        note = ""
        if commit:
            changed = commit_outputs(ROOT / "notebooks" / f"{name}.ipynb", target, chosen)
            note = "; outputs → notebooks/ " + ("(updated)" if changed else "(unchanged)")
        tqdm.write(f"  {name}: {timings[name]} s → {_rel(target)}{note}", file=sys.stderr)
        done.append(target)
    bar.close()
    (out / "timings.json").write_text(json.dumps(dict(dataset=chosen, fast=bool(fast),
                                                      seconds=timings), indent=1) + "\n")
    print(f"done: {len(done)} notebooks on dataset={chosen} in {sum(timings.values()):.0f} s; "
          f"figures in {_rel(figures / chosen)}", file=sys.stderr, flush=True)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    return done


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xnets_lite.notebooks",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the notebooks in order with papermill")
    run.add_argument("--dataset", default=os.environ.get("DATASET") or "auto",
                     help="auto (SVHN if on disk, else full MNIST offline, loudly), svhn "
                          "or mnist; default $DATASET or auto")
    run.add_argument("--fast", action="store_true", help="the small CI setting")
    run.add_argument("--out", default="build", help="where executed notebooks go (build/)")
    run.add_argument("--checkpoints", default=None)
    run.add_argument("--figures", default=None, help="figures go to <figures>/<dataset>/")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--device", default="auto")
    run.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 00 02")
    run.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    args = parser.parse_args(argv)
    from .data import DataNotFoundError
    try:
        run_notebooks(args.dataset, args.fast, args.out, args.checkpoints, args.figures,
                      args.seed, args.device, args.only, args.timeout)
    except DataNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
