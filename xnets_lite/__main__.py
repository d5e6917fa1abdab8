"""Command line: ``python -m xnets_lite <command> ...`` (also installed as ``xnets-lite``).

Commands are registered with ``@command``: to add one, write a function that adds its
arguments to a parser and a function that runs it, e.g.::

    def _bench_args(p): p.add_argument("--steps", type=int, default=100)

    @command("bench", "measure training throughput", _bench_args)
    def bench(args) -> int: ...

Errors the user can fix (unknown dataset, missing data, bad checkpoint, no CUDA) are printed
as one line ``xnets-lite: error: ...`` with exit status 2, not as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["main", "command", "COMMANDS"]


@dataclass
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, add_arguments: Callable[[argparse.ArgumentParser], None]):
    """Register ``run(args) -> exit status`` as subcommand ``name``."""

    def register(run: Callable[[argparse.Namespace], int]):
        COMMANDS[name] = Command(name, help, add_arguments, run)
        return run

    return register


class UsageError(Exception):
    """A mistake in the command line that argparse could not catch."""


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is the whole story for a CLI user."""
    from xnets_lite.data import DataError
    from xnets_lite.training.checkpoint import CheckpointError

    return (DataError, CheckpointError, UsageError, FloatingPointError)


# ----------------------------------------------------------------------------- train


def _train_args(p: argparse.ArgumentParser) -> None:
    from xnets_lite.data import DATASETS

    p.add_argument(
        "--dataset",
        default="mnist",
        type=str.lower,
        help=f"one of {', '.join(DATASETS)} (default: mnist, full MNIST offline; "
        f"svhn is the paper's dataset and must be downloaded)",
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help="data directory for svhn (default: $XNETS_DATA, else data/ at the repository root)",
    )
    p.add_argument("--download", action="store_true", help="download svhn if it is missing")
    p.add_argument(
        "--extra",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="add svhn's 'extra' split to training (default: the recipe's; "
        "on for svhn, as the authors train)",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help="the fast CI variant of the dataset's recipe (not a result)",
    )
    _override_args(p)
    _run_args(p)


def _override_args(p: argparse.ArgumentParser) -> None:
    """``train``'s recipe overrides (one argument group)."""
    from xnets_lite.core.model import BLOCKS, NORMS

    group = p.add_argument_group(
        "recipe overrides (default: the dataset's recipe, "
        "xnets_lite/training/recipes.py, printed at the start)"
    )
    group.add_argument("--epochs", type=_positive_int, default=None)
    group.add_argument("--batch-size", type=_positive_int, default=None)
    group.add_argument("--lr", type=float, default=None)
    group.add_argument("--weight-decay", type=float, default=None)
    group.add_argument(
        "--noise-std",
        type=float,
        default=None,
        help="std of the Gaussian input noise on gray inputs in [0, 1] (0 disables it)",
    )
    group.add_argument("--width", type=_positive_int, default=None, help="d_model = d_hidden")
    group.add_argument("--layers", type=_positive_int, default=None, help="number of blocks")
    group.add_argument(
        "--block",
        choices=BLOCKS,
        default=None,
        help="χ-net block: residual x + D((Lx + b_L) ⊙ (Rx + b_R)) + b_D or the "
        "paper's direct (Ax + a) ⊙ (Bx + b)",
    )
    group.add_argument(
        "--norm",
        choices=["none", *(n for n in NORMS if n)],
        default=None,
        help="χ-net normalisation (default: none for residual blocks, batch-rms for direct ones)",
    )


def _run_args(p: argparse.ArgumentParser) -> None:
    """``train``'s model, seed, device and output options."""
    from xnets_lite.core.model import ACTIVATIONS

    p.add_argument(
        "--activation", choices=ACTIVATIONS, default="relu", help="activation of the MLP baseline"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="CPU threads for torch (default: torch's choice, one per core)",
    )
    p.add_argument(
        "--out",
        default="checkpoints",
        metavar="DIR",
        help="checkpoints go to DIR/<dataset>/{xnet,mlp}.pt (default: %(default)s)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _recipe_from_args(args: argparse.Namespace):
    """The dataset's recipe with the command line's overrides applied."""
    from xnets_lite.training.kinds import MODEL_KINDS
    from xnets_lite.training.recipes import recipe

    base = recipe(args.dataset, fast=args.fast)
    overrides = {
        key: value
        for key, value in dict(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            weight_decay=args.weight_decay,
            noise_std=args.noise_std,
            width=args.width,
            n_layers=args.layers,
        ).items()
        if value is not None
    }
    overrides = {k: v for k, v in overrides.items() if getattr(base, k) != v}
    chosen = base.with_overrides(**overrides)
    if args.extra is not None:
        chosen = chosen.changed(extra=args.extra)
    main = MODEL_KINDS[chosen.main].options
    block = args.block or main.get("block", "residual")
    norm = args.norm or ("batch-rms" if block == "direct" else "none")
    return chosen, block, None if norm == "none" else norm, sorted(overrides)


@command(
    "train",
    "train a χ-net and the MLP baseline with the dataset's recipe, save "
    "checkpoints, compare accuracy",
    _train_args,
)
def train_command(args: argparse.Namespace) -> int:
    import torch

    from xnets_lite.data import load_splits
    from xnets_lite.training.train import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        device = resolve_device(args.device)
        chosen, block, norm, overridden = _recipe_from_args(args)
    except (RuntimeError, ValueError) as err:
        raise UsageError(str(err)) from err
    if chosen.extra and args.dataset != "svhn":
        raise UsageError(f"--extra is only for svhn, not {args.dataset}")
    train_data, test_data = load_splits(
        args.dataset, args.data, download=args.download, extra=chosen.extra
    )
    _print_setting(args, train_data, test_data, device, chosen, block, norm, overridden)
    out_dir = Path(args.out) / train_data.name
    rows = []
    for key, (label, make) in _cli_models(args, chosen, train_data, block, norm).items():
        run = (args, chosen, device, label, make)
        rows.append(_train_one(run, out_dir / f"{key}.pt", train_data, test_data))
    print()
    print(f"{'model':<34} {'params':>9} {'test acc':>9} {'train time':>11}  checkpoint")
    for label, n_params, acc, seconds, path in rows:
        print(f"{label:<34} {n_params:>9,} {acc:>9.2%} {seconds:>10.1f}s  {path}")
    print(
        f"({train_data.name}: {len(train_data)} train / {len(test_data)} test, "
        f"{chosen.epochs} epochs, seed {args.seed})"
    )
    return 0


def _print_setting(args, train_data, test_data, device, chosen, block, norm, overridden) -> None:
    """What ``train`` is about to do: the data, the device, the recipe and its sources."""
    import torch

    from xnets_lite.data import describe

    print(describe(train_data, test_data))
    if train_data.name != "svhn":
        print(f"note: these are {train_data.name.upper()} results, not SVHN (the paper's dataset)")
    print(f"device: {device} · torch {torch.__version__} · {torch.get_num_threads()} threads")
    what = "the fast CI variant of " if chosen.fast else ""
    print(
        f"recipe: {what}the {args.dataset} recipe"
        + (f", with {', '.join(overridden)} changed on the command line" if overridden else "")
        + f"; χ-net blocks: {block}, norm: {norm}"
    )
    for line in chosen.describe():
        print("  " + line)


def _cli_models(args, chosen, train_data, block, norm) -> dict:
    """``{checkpoint name: (label, build the untrained model)}`` for the χ-net and the MLP."""
    from xnets_lite.training.kinds import make_model

    sizes = dict(
        d_input=train_data.d_input,
        width=chosen.width,
        n_classes=train_data.n_classes,
        n_layers=chosen.n_layers,
    )
    return {
        "xnet": (
            f"χ-net ({chosen.n_layers}×{chosen.width}, {block}{', ' + norm if norm else ''})",
            lambda: make_model("xnet", **sizes, block=block, norm=norm),
        ),
        "mlp": (
            f"MLP {args.activation} ({chosen.n_layers}×{chosen.width})",
            lambda: make_model("mlp", **sizes, activation=args.activation),
        ),
    }


def _train_one(run: tuple, path: Path, train_data, test_data) -> tuple:
    """Train one model (``run``: the arguments, recipe, device, label and the model's
    builder) under the seed and save it: ``(label, parameters, test accuracy, seconds,
    path)``."""
    from xnets_lite.core.model import num_parameters
    from xnets_lite.training.checkpoint import train_and_save
    from xnets_lite.training.train import seed_everything

    args, chosen, device, label, make = run
    seed_everything(args.seed)
    model = make()
    meta = train_and_save(
        path,
        model,
        train_data,
        test_data,
        seed=args.seed,
        device=device,
        progress=not args.no_progress,
        desc=label,
        meta={"label": label},
        **chosen.train_kwargs,
    )
    return label, num_parameters(model), meta["test_accuracy"], meta["train_seconds"], path


# ----------------------------------------------------------------------------- odt


def _odt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        default=None,
        metavar="FILE",
        help="a trained χ-net (default: checkpoints/<dataset>/xnet.pt)",
    )
    p.add_argument(
        "--dataset",
        default="mnist",
        type=str.lower,
        help="dataset whose test split measures accuracy (default: mnist); must be "
        "the one the checkpoint was trained on",
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help="data directory for svhn (default: $XNETS_DATA, else data/ at the repository root)",
    )
    p.add_argument(
        "--figures",
        default="build/odt-report",
        metavar="DIR",
        help="figures go to DIR/<dataset>/ (default: %(default)s; figures/ holds "
        "the notebooks' figures)",
    )
    p.add_argument(
        "--ranks",
        default="1,2,4,8,16,32,64",
        help="ranks for the accuracy-vs-truncation table (default: %(default)s)",
    )
    p.add_argument(
        "--tree-rank",
        type=_positive_int,
        default=15,
        help="directions per wire in the compositional tree (default: %(default)s)",
    )
    p.add_argument("--device", default="cpu", help="where ODT runs: cpu (default) or cuda")


@command(
    "odt", "decompose a trained χ-net: effective dimensions, accuracy vs rank, figures", _odt_args
)
def odt_command(args: argparse.Namespace) -> int:
    from xnets_lite.core.model import XNet
    from xnets_lite.course.report import odt_report
    from xnets_lite.data import load_dataset
    from xnets_lite.training.checkpoint import load_checkpoint

    try:
        ranks = [int(r) for r in args.ranks.split(",") if r.strip()]
    except ValueError as err:
        raise UsageError(f"--ranks must be comma-separated integers, got {args.ranks!r}") from err
    path = Path(args.checkpoint or Path("checkpoints") / args.dataset / "xnet.pt")
    model, meta = load_checkpoint(path)
    if not isinstance(model, XNet):
        raise UsageError(
            f"{path} holds a {type(model).__name__}, not a χ-net: only χ-nets "
            f"have a tensor-network form to decompose"
        )
    if meta.get("dataset") not in (None, args.dataset):
        raise UsageError(
            f"{path} was trained on {meta['dataset']!r}, not {args.dataset!r}; "
            f"pass --dataset {meta['dataset']}"
        )
    test_data = load_dataset(args.dataset, args.data, split="test")
    if test_data.name != "svhn":
        print(f"note: these are {test_data.name.upper()} results, not SVHN (the paper's dataset)")
    try:
        odt_report(
            model,
            test_data,
            Path(args.figures) / test_data.name,
            ranks=ranks,
            tree_rank=args.tree_rank,
            device=args.device,
        )
    except ValueError as err:  # rank out of range, CUDA missing, ...
        raise UsageError(str(err)) from err
    return 0


# ----------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xnets-lite",
        description=("χ-nets (stacked bilinear layers): train, compare, decompose."),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (argparse's own usage errors exit with 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except _user_errors() as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
