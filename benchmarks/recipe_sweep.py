"""Recipe sweep on the full MNIST: input noise × weight decay, accuracy against readability.

For each point (noise std S, weight decay WD) this trains the χ-net and the MLP baseline with
the project's own CLI (3 layers × width 128, batch 128, AdamW lr 1e-3, cosine schedule, 10
epochs, 2 threads), then decomposes the χ-net with the ODT report CLI and, from the same
checkpoint, measures how readable its class eigenvectors are: the share of each class's
spectral energy held by its top eigenvector (``class_eigenvectors(...).share[:, 0]``; a
larger share means one image says more of what the class responds to). It saves the top
eigenvector of every class as a PNG and prints one markdown table.

    .venv/bin/python benchmarks/recipe_sweep.py                     # the three points
    .venv/bin/python benchmarks/recipe_sweep.py --points 0.3:0.1 --epochs 1   # a quick look

Commands it runs for each point (checkpoints in /tmp/sweep-S-WD/mnist/):

    python -m xnets_lite train --dataset mnist --epochs 10 --weight-decay WD --noise-std S \\
        --threads 2 --out /tmp/sweep-S-WD
    python -m xnets_lite odt --dataset mnist --checkpoint /tmp/sweep-S-WD/mnist/xnet.pt \\
        --figures /tmp/sweep-figs/S-WD

Results on MNIST are MNIST results, not SVHN. benchmarks/recipe_sweep.md records a run.
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

POINTS = ((0.3, 0.1), (0.5, 0.5), (0.8, 0.5))


sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_throughput import cpu_name  # noqa: E402  (one lscpu reader for the benchmarks)


def run(cmd: list[str]) -> str:
    """Run a CLI command, echo it and its output, return the output; stop on failure."""
    print("$", " ".join(cmd[2:] if cmd[:2] == [sys.executable, "-m"] else cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    print(proc.stdout, end="", flush=True)
    if proc.returncode != 0:
        sys.exit(f"command failed with status {proc.returncode}:\n{proc.stderr}")
    return proc.stdout


def times(meta: dict) -> tuple[float, float]:
    """(wall seconds of the whole run, seconds of its fastest epoch): on a shared machine the
    second says what the run costs without the others' load."""
    t = [0.0] + list(meta["history"]["time"])
    return meta["train_seconds"], min(b - a for a, b in zip(t, t[1:]))


def trained_with(path: Path, train: dict) -> bool:
    """Whether ``path`` holds a model trained on the full MNIST with exactly ``train``."""
    from xnets_lite.training.checkpoint import CheckpointError, load_checkpoint

    if not path.is_file():
        return False
    try:
        recipe = load_checkpoint(path)[1].get("recipe") or {}
    except CheckpointError:
        return False
    model = recipe.get("model", {})
    return (
        recipe.get("train") == train
        and recipe.get("n_train") == 60000
        and recipe.get("dataset") == "mnist"
        and recipe.get("seed") == 0
        and (model.get("d_model"), model.get("n_layers")) == (128, 3)
    )


def parse_report(text: str) -> tuple[list[int], dict[int, float]]:
    """The ODT report's effective dimension per wire and its accuracy per rank."""
    dims, accuracy, section = [], {}, None
    for line in text.splitlines():
        if line.startswith("effective dimension per wire"):
            section = "dims"
        elif line.startswith("accuracy vs rank"):
            section = "rank"
        elif section == "dims" and (m := re.match(r"\s*w?(\d+)\s+(\d+)\s+(\d+)\s", line)):
            dims.append(int(m.group(3)))  # columns: wire, size, ODT, local SVD ...
        elif section == "rank" and (m := re.match(r"\s*(\d+)\s+([\d.]+)%\s", line)):
            accuracy[int(m.group(1))] = float(m.group(2)) / 100
    if not dims or not accuracy:
        sys.exit(f"could not read the ODT report:\n{text}")
    return dims, accuracy


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--points",
        default=",".join(f"{s}:{wd}" for s, wd in POINTS),
        help="comma-separated NOISE:WEIGHT_DECAY pairs (default: %(default)s)",
    )
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="/tmp/sweep", help="checkpoints go to OUT-S-WD/mnist/")
    p.add_argument("--figures", default="/tmp/sweep-figs", help="PNGs go here")
    p.add_argument(
        "--retrain",
        action="store_true",
        help="train again even where OUT-S-WD holds checkpoints of the same recipe",
    )
    args = p.parse_args(argv)
    points = [tuple(float(v) for v in item.split(":")) for item in args.points.split(",")]

    from xnets_lite.analysis.interpret import class_eigenvectors
    from xnets_lite.core.odt import effective_dimension, odt
    from xnets_lite.training.checkpoint import load_checkpoint
    from xnets_lite.viz.plots import plot_class_eigenvectors, plt, save_figure

    torch.set_num_threads(args.threads)
    figures = Path(args.figures)
    rows = []
    for noise, wd in points:
        tag = f"{noise:g}-{wd:g}"
        out = Path(f"{args.out}-{tag}")
        train = dict(epochs=args.epochs, batch_size=128, lr=1e-3, weight_decay=wd, noise_std=noise)
        if args.retrain or not all(
            trained_with(out / "mnist" / f"{k}.pt", train) for k in ("xnet", "mlp")
        ):
            run(
                [
                    sys.executable,
                    "-m",
                    "xnets_lite",
                    "train",
                    "--dataset",
                    "mnist",
                    "--epochs",
                    str(args.epochs),
                    "--weight-decay",
                    f"{wd:g}",
                    "--noise-std",
                    f"{noise:g}",
                    "--width",
                    "128",
                    "--layers",
                    "3",
                    "--batch-size",
                    "128",
                    "--lr",
                    "1e-3",
                    "--threads",
                    str(args.threads),
                    "--out",
                    str(out),
                    "--no-progress",
                ]
            )
        else:
            print(
                f"reusing {out}/mnist/{{xnet,mlp}}.pt: trained with this recipe (--retrain to redo)"
            )
        xnet_path = out / "mnist" / "xnet.pt"
        model, xmeta = load_checkpoint(xnet_path)
        _, mmeta = load_checkpoint(out / "mnist" / "mlp.pt")
        report = run(
            [
                sys.executable,
                "-m",
                "xnets_lite",
                "odt",
                "--dataset",
                "mnist",
                "--checkpoint",
                str(xnet_path),
                "--figures",
                str(figures / tag),
            ]
        )
        dims, rank_accuracy = parse_report(report)

        started = time.perf_counter()
        dec = odt(model)
        ce = class_eigenvectors(dec, k=20, image_shape=(28, 28))
        share = ce.share[:, 0]
        # The report and this decomposition must agree (same checkpoint, same code).
        ours = [effective_dimension(s, 0.99) for s in dec.spectra]
        if ours != dims:
            print(f"warning: effective dimensions differ: report {dims}, odt() here {ours}")
        title = (
            f"Top eigenvector per class — MNIST (full), noise {noise:g}, weight decay {wd:g}: "
            f"χ-net {xmeta['test_accuracy']:.1%}"
        )
        fig = plot_class_eigenvectors(ce, title)
        png = save_figure(fig, figures / f"eigenvectors-noise{noise:g}-wd{wd:g}.png")
        plt.close(fig)
        print(
            f"top-eigenvector share per class: "
            f"{', '.join(f'{c}: {100 * float(v):.0f}%' for c, v in enumerate(share))} "
            f"({time.perf_counter() - started:.1f} s); figure {png}\n",
            flush=True,
        )
        rows.append(
            dict(
                noise=noise,
                wd=wd,
                xnet=xmeta["test_accuracy"],
                xnet_s=times(xmeta),
                mlp=mmeta["test_accuracy"],
                mlp_s=times(mmeta),
                share=(float(share.min()), float(share.max())),
                dims=dims,
                rank16=rank_accuracy.get(16),
                png=png,
            )
        )

    print(
        f"MNIST (full, 60,000/10,000), {args.epochs} epochs, 3 layers × 128, batch 128, AdamW "
        f"lr 1e-3, cosine, seed 0, {args.threads} threads · {cpu_name()} · torch "
        f"{torch.__version__} · Python {platform.python_version()}\n"
    )
    fmt = lambda t: f"{t[0]:.0f} s ({t[1]:.1f} s)"
    print(
        "| noise std | weight decay | χ-net test acc | χ-net train time (fastest epoch) | "
        "MLP test acc | MLP train time (fastest epoch) | "
        "top eigenvector share (min–max over classes) | ODT eff. dim per wire "
        "(99%) | χ-net acc, ODT rank 16 |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for r in rows:
        r16 = f"{r['rank16']:.1%}" if r["rank16"] is not None else "–"
        print(
            f"| {r['noise']:g} | {r['wd']:g} | {r['xnet']:.1%} | {fmt(r['xnet_s'])} | "
            f"{r['mlp']:.1%} | {fmt(r['mlp_s'])} | "
            f"{100 * r['share'][0]:.0f}–{100 * r['share'][1]:.0f}% | "
            f"{'/'.join(map(str, r['dims']))} | {r16} |"
        )


if __name__ == "__main__":
    main()
