"""The notebooks' shared set-up, and the papermill pipeline that runs them in order.

Two halves:

* **In a notebook**: ``Run`` holds the parameters of one run (dataset, fast, seed, device,
  where checkpoints and figures go) and the derived sizes; ``Run.models()`` trains or loads the
  χ-net, its RMS-normalised variant and the ReLU baseline with the same recipe, so notebook 01
  trains and notebooks 02–04 load what 01 saved (or train, when it is missing).
* **On the command line**: ``python -m xnets_lite.notebooks run`` executes
  ``notebooks/0*.ipynb`` in order with papermill into ``build/``, injecting the parameters.

Dataset choice (never a silent switch):

* ``--dataset svhn`` or ``--dataset mnist`` (``make reproduce DATASET=...``) is used as given;
  SVHN without data is an error that says how to get it.
* ``--dataset auto`` (the default of ``make reproduce``) uses SVHN when its files are on disk
  and otherwise falls back to the offline MNIST subset, printing a loud banner at the start
  and at the end that says what failed, how to get SVHN and how to force a dataset.
* Inside a notebook, ``dataset="svhn"`` without data raises ``DataNotFoundError``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ("00_tensor_networks", "01_training", "02_decomposition", "03_eigenvectors",
             "04_tree")

#: Environment variables read by the ``parameters`` cell of every notebook.
ENV = dict(dataset="XNETS_DATASET", fast="XNETS_FAST", seed="XNETS_SEED", device="XNETS_DEVICE",
           checkpoints="XNETS_CHECKPOINTS", figures="XNETS_FIGURES")

#: The paper's setting (full) and the CI setting (fast). Notebooks derive these in the cell
#: after their parameters; this table is the single place the numbers live.
RECIPES = {
    False: dict(width=128, n_layers=3, epochs=30),
    True: dict(width=64, n_layers=3, epochs=4),
}


# ---------------------------------------------------------------------------------------
# In a notebook
# ---------------------------------------------------------------------------------------
@dataclass
class Run:
    """One run of the course: parameters plus derived sizes, data, models and output paths.

    Args:
        dataset: ``"svhn"`` (the paper) or ``"mnist"`` (offline MNIST subset).
        fast: the CI setting (narrower, fewer epochs), same code path.
        seed: seeds model initialisation, shuffling and noise.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        checkpoints: directory for checkpoints (one file per model and recipe).
        figures: directory for figures; they go to ``<figures>/<dataset>/``.
    """

    dataset: str = "svhn"
    fast: bool = False
    seed: int = 0
    device: str = "auto"
    checkpoints: str = "../checkpoints"
    figures: str = "../figures"
    width: int = field(init=False)
    n_layers: int = field(init=False)
    epochs: int = field(init=False)

    def __post_init__(self):
        import torch

        from .data import DATASETS

        self.dataset = str(self.dataset).lower()
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        self.fast = bool(self.fast)
        for key, value in RECIPES[self.fast].items():
            setattr(self, key, value)
        torch.manual_seed(self.seed)
        self._data = None

    # -- derived ------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """How every output names the data: ``"MNIST subset"`` or ``"SVHN"``, plus fast."""
        name = {"mnist": "MNIST subset (offline)", "svhn": "SVHN (grayscale)"}[self.dataset]
        return name + (", fast CI run" if self.fast else "")

    @property
    def figure_dir(self) -> Path:
        path = Path(self.figures) / self.dataset
        path.mkdir(parents=True, exist_ok=True)
        return path

    def figure_path(self, name: str) -> Path:
        return self.figure_dir / f"{name}.png"

    def checkpoint_path(self, kind: str) -> Path:
        """``<checkpoints>/<dataset>/<kind>-w<width>-l<layers>-e<epochs>-s<seed>.pt``: the name
        carries the recipe, so a fast run never overwrites a full one (and the file's stored
        recipe is checked again on load)."""
        name = f"{kind}-w{self.width}-l{self.n_layers}-e{self.epochs}-s{self.seed}.pt"
        return Path(self.checkpoints) / self.dataset / name

    def torch_device(self):
        from .train import resolve_device
        return resolve_device(self.device)

    # -- data and models ----------------------------------------------------------------
    def data(self):
        """``(train, test)``; an explicit ``"svhn"`` without files raises ``DataNotFoundError``."""
        if self._data is None:
            from .data import load_splits
            self._data = load_splits(self.dataset)
        return self._data

    def make(self, kind: str):
        """An untrained model of ``kind``: ``"xnet"``, ``"xnet-rms"`` or ``"mlp"``."""
        from .model import MLP, XNet
        train, _ = self.data()
        sizes = dict(d_input=train.d_input, d_model=self.width, d_hidden=self.width,
                     n_classes=train.n_classes, n_layers=self.n_layers)
        if kind == "xnet":
            return XNet(**sizes)
        if kind == "xnet-rms":
            return XNet(**sizes, norm="rms")
        if kind == "mlp":
            return MLP(**sizes, activation="relu")
        raise ValueError(f"unknown model kind {kind!r}; expected xnet, xnet-rms or mlp")

    def model(self, kind: str = "xnet", progress: bool | None = None):
        """Train or load one model (``train_or_load``): ``(model, meta)``, model on CPU in eval
        mode. Training happens on ``device``; the recipe decides whether a checkpoint fits.
        Whether it was trained or loaded goes to stderr (it differs between executions)."""
        from .checkpoint import train_or_load

        train, test = self.data()
        path = self.checkpoint_path(kind)
        before = path.stat().st_mtime_ns if path.exists() else None
        start = time.perf_counter()
        model, meta = train_or_load(path, lambda: self.make(kind), train, test, seed=self.seed,
                                    epochs=self.epochs, device=self.torch_device(),
                                    progress=(not self.fast) if progress is None else progress,
                                    desc=kind)
        model.cpu().eval()
        after = path.stat().st_mtime_ns if path.exists() else None
        how = "loaded" if before is not None and before == after else "trained and saved"
        print(f"{kind}: {how} {_rel(path)} in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
        return model, meta

    def models(self, kinds=("xnet", "xnet-rms", "mlp")) -> dict:
        """``{kind: (model, meta)}`` for several kinds."""
        return {kind: self.model(kind) for kind in kinds}

    def __repr__(self) -> str:
        return (f"Run(dataset={self.dataset!r} [{self.label}], width={self.width}, "
                f"n_layers={self.n_layers}, epochs={self.epochs}, seed={self.seed}, "
                f"device={self.device!r})")


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def save(fig, run: Run, name: str) -> str:
    """Save ``fig`` as ``<figures>/<dataset>/<name>.png`` (byte-stable) and say where."""
    from .plots import save_figure
    path = run.figure_path(name)
    save_figure(fig, path)
    return f"saved {_rel(path)}"


# ---------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------
def svhn_available(root=None) -> tuple[bool, str]:
    """Whether SVHN's train and test files are on disk, and a sentence on what is missing."""
    from .data import svhn_path
    missing = [str(svhn_path(root, split).resolve()) for split in ("train", "test")
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
        "DATASET FALLBACK: running on the offline MNIST subset, NOT on SVHN (the paper's data).",
        f"Why: {reason}.",
        f"To use SVHN: put train_32x32.mat and test_32x32.mat from {SVHN_URL}",
        f"  into ./data (or ${DATA_ENV}), or run `python -m xnets_lite train --dataset svhn --download`.",
        "To choose explicitly: make reproduce DATASET=svhn  (error if missing)",
        "                      make reproduce DATASET=mnist (offline, no banner).",
        "Every output and figure is labelled with the dataset actually used.",
    ])


def resolve_dataset(requested: str | None) -> tuple[str, str | None]:
    """``(dataset, fallback_banner_or_None)``. ``auto``/empty → SVHN if present else MNIST
    with a banner; an explicit ``svhn`` without data raises ``DataNotFoundError``."""
    from .data import DATASETS, DataNotFoundError
    requested = (requested or "auto").lower()
    if requested == "auto":
        ok, reason = svhn_available()
        return ("svhn", None) if ok else ("mnist", fallback_message(reason))
    if requested not in DATASETS:
        raise SystemExit(f"unknown dataset {requested!r}; choose auto, {', '.join(DATASETS)}")
    if requested == "svhn":
        ok, reason = svhn_available()
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
                  timeout: int = 1800) -> list[Path]:
    """Execute the notebooks in order with papermill; returns the executed copies' paths.

    Parameters are injected (absolute paths), so the executed copies in ``out`` re-run
    identically under nbval. Defaults: fast runs keep checkpoints and figures inside ``out``
    (CI never touches ``figures/``); full runs use ``checkpoints/`` and ``figures/``.
    """
    import papermill as pm
    from tqdm.auto import tqdm

    _quiet_papermill()
    chosen, warning = resolve_dataset(dataset)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = Path(checkpoints or (out / "checkpoints" if fast else ROOT / "checkpoints"))
    figures = Path(figures or (out / "figures" if fast else ROOT / "figures"))
    params = dict(dataset=chosen, fast=bool(fast), seed=int(seed), device=device,
                  checkpoints=str(checkpoints.resolve()), figures=str(figures.resolve()))
    names = [n for n in NOTEBOOKS if not only or any(n.startswith(o) for o in only)]
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
        tqdm.write(f"  {name}: {timings[name]} s → {_rel(target)}", file=sys.stderr)
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
                     help="auto (SVHN if on disk, else the offline MNIST subset, loudly), svhn "
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
