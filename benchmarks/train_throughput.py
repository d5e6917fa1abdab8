"""Training throughput of a χ-net against the MLP baseline at equal width and depth.

Two modes.

``--mode steps`` (default): both models run the same training step as ``xnets_lite.training.train``
(uint8 → float batch, Gaussian input noise, forward, cross-entropy, backward, AdamW step) on
the same batches, interleaved in one process: after a warm-up, each repeat times ``--steps``
steps of every model in turn, so that a change in machine load hits both. The table reports
the median samples/s.

``--mode train`` (``--svhn`` sets the paper's SVHN run): the project's ``train`` function
itself, one epoch on random uint8 images, for every model kind and every thread count in
turn, ``--repeats`` times; plus ``evaluate`` on a test-sized set, and one write of the resume
state. From the rates it estimates the wall time of the whole run (``--epochs`` epochs on
``--n-train`` images, evaluated on ``--n-test`` after each epoch).

    python benchmarks/train_throughput.py                # MNIST shape: 784 inputs, 3×128
    python benchmarks/train_throughput.py --d-input 1024 --width 256 --device cuda
    python benchmarks/train_throughput.py --svhn --threads-list 1,2 --repeats 2
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from xnets_lite.core.model import MLP, XNet
from xnets_lite.data import Dataset, add_noise
from xnets_lite.training.train import (
    evaluate,
    resolve_device,
    rgb_noise_to_gray,
    seed_everything,
    train,
    train_step,
)

# The SVHN run of [x-vla] (J0YY/x-vla, athena/dooms_svhn_reproduction.py): train + extra,
# width 256, 3 layers, batch 2048, AdamW lr 1e-3, weight decay 1.0, cosine, 20 epochs; the
# authors' noise (std 0.3 on RGB, before grayscale) on our gray images.
SVHN = dict(
    d_input=1024,
    width=256,
    layers=3,
    batch_size=2048,
    lr=1e-3,
    weight_decay=1.0,
    noise_std=rgb_noise_to_gray(0.3),
    epochs=20,
    n_train=73_257 + 531_131,
    n_test=26_032,
)


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown CPU"


def time_steps(model, optimizer, batches, noise_gen, noise_std, device) -> float:
    """Seconds for one pass over ``batches`` (synchronised on CUDA)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for images, labels in batches:
        x = images.to(device, non_blocking=True).reshape(len(images), -1).float().div_(255)
        train_step(model, optimizer, add_noise(x, noise_std, noise_gen), labels.to(device))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--mode",
        choices=["steps", "train"],
        default="steps",
        help="time train_step loops (steps) or the train function (train)",
    )
    p.add_argument(
        "--svhn",
        action="store_true",
        help="the SVHN run: --mode train, 1024 inputs, width 256, 3 layers, batch 2048, "
        "weight decay 1.0, noise 0.3 on RGB, 20 epochs on 604,388 images",
    )
    p.add_argument("--d-input", type=int, default=784)
    p.add_argument("--width", type=int, default=128, help="d_model = d_hidden")
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument(
        "--steps",
        type=int,
        default=50,
        help="steps per timed repeat (mode train: batches in the timed epoch)",
    )
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=10, help="untimed steps per model first")
    p.add_argument("--noise-std", type=float, default=0.3)
    p.add_argument("--lr", type=float, default=1e-3, help="mode train")
    p.add_argument("--weight-decay", type=float, default=0.1, help="mode train")
    p.add_argument("--epochs", type=int, default=30, help="mode train: epochs of the estimated run")
    p.add_argument(
        "--n-train", type=int, default=60_000, help="mode train: images of the estimated run"
    )
    p.add_argument(
        "--n-test", type=int, default=10_000, help="mode train: test images of the estimated run"
    )
    p.add_argument(
        "--kinds",
        default="xnet,mlp",
        help="mode train: comma-separated xnet, mlp, xnet-direct (the direct block "
        "with the scalar batch RMS norm)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--threads-list", default=None, help="mode train: e.g. 1,2 (default: --threads)")
    p.add_argument("--device", default="cpu")
    if p.parse_known_args(argv)[0].svhn:  # the preset changes defaults; explicit flags win
        p.set_defaults(mode="train", steps=40, repeats=2, kinds="xnet,mlp,xnet-direct", **SVHN)
    args = p.parse_args(argv)
    if args.mode == "train":
        return train_function(args)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    side = int(round(args.d_input**0.5))
    if side * side != args.d_input:
        p.error("--d-input must be a square number of pixels")
    # Random uint8 images: throughput does not depend on the pixel values.
    data = Dataset(
        torch.randint(0, 256, (args.steps * args.batch_size, side, side), dtype=torch.uint8),
        torch.randint(0, 10, (args.steps * args.batch_size,)),
        "random",
        "train",
    )
    batches = [
        (data.images[i : i + args.batch_size], data.labels[i : i + args.batch_size])
        for i in range(0, len(data), args.batch_size)
    ]

    shape = dict(
        d_input=args.d_input,
        d_model=args.width,
        d_hidden=args.width,
        n_classes=10,
        n_layers=args.layers,
    )
    models = {
        "χ-net": XNet(**shape),
        "MLP relu": MLP(**shape, activation="relu"),
        "MLP gelu": MLP(**shape, activation="gelu"),
    }
    runs = {}
    for name, model in models.items():
        model.to(device).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
        gen = torch.Generator(device=device).manual_seed(1)
        time_steps(model, opt, batches[: args.warmup], gen, args.noise_std, device)
        runs[name] = (model, opt, gen, [])
    for _ in range(args.repeats):
        for model, opt, gen, samples_per_s in runs.values():
            seconds = time_steps(model, opt, batches, gen, args.noise_std, device)
            samples_per_s.append(len(data) / seconds)

    print(
        f"machine: {cpu_name()}, {torch.get_num_threads()} torch threads "
        f"(os.cpu_count()={os.cpu_count()}); device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
    )
    print(
        f"torch {torch.__version__}, python {platform.python_version()}; "
        f"{args.layers} layers × width {args.width}, d_input {args.d_input}, "
        f"batch {args.batch_size}, "
        f"{args.repeats} repeats × {args.steps} steps, median"
    )
    base = statistics.median(runs["MLP relu"][3])
    print(f"{'model':<10} {'params':>9} {'samples/s':>11} {'min–max':>17} {'vs MLP relu':>12}")
    for name, (model, _, _, samples_per_s) in runs.items():
        med = statistics.median(samples_per_s)
        n_params = sum(q.numel() for q in model.parameters())
        print(
            f"{name:<10} {n_params:>9,} {med:>11,.0f} "
            f"{min(samples_per_s):>8,.0f}–{max(samples_per_s):<8,.0f} "
            f"{med / base:>11.2f}×"
        )


# ----------------------------------------------------------------------------- mode train


def make_model(kind: str, args) -> torch.nn.Module:
    shape = dict(d_input=args.d_input, d_model=args.width, n_classes=10, n_layers=args.layers)
    if kind == "xnet":
        return XNet(**shape, d_hidden=args.width)
    if kind == "xnet-direct":
        return XNet(**shape, block="direct", norm="batch-rms")
    if kind == "mlp":
        return MLP(**shape, d_hidden=args.width, activation="relu")
    raise SystemExit(f"unknown kind {kind!r}: use xnet, mlp or xnet-direct")


def random_data(n: int, side: int, seed: int) -> Dataset:
    gen = torch.Generator().manual_seed(seed)
    return Dataset(
        torch.randint(0, 256, (n, side, side), dtype=torch.uint8, generator=gen),
        torch.randint(0, 10, (n,), generator=gen),
        "random",
        "train",
    )


def train_function(args) -> None:
    """Time ``train`` (one epoch), ``evaluate`` and one resume write; estimate the full run."""
    from xnets_lite.training import resume  # the resume write train does after an epoch
    from xnets_lite.training.config import TrainConfig
    from xnets_lite.training.train import new_state

    device = resolve_device(args.device)
    side = int(round(args.d_input**0.5))
    kinds = args.kinds.split(",")
    listed = args.threads_list or str(args.threads or torch.get_num_threads())
    threads = [int(t) for t in listed.split(",")]
    hyper = dict(
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        noise_std=args.noise_std,
    )
    # One timed epoch of --steps full batches; the test set is a tenth of the run's (the
    # rate is what is measured, evaluation is linear in the images).
    data = random_data(args.steps * args.batch_size, side, 0)
    test = random_data(max(args.n_test // 10, 1), side, 1)
    warm = data.subset(2 * args.batch_size)
    load_before = os.getloadavg()
    started = datetime.datetime.now().astimezone()
    # train images/s (wall), eval images/s (wall), train images per CPU-second of this process
    rates = {(k, t): ([], [], []) for k in kinds for t in threads}
    writes = {}
    for kind in kinds:  # warm-up: first-call allocations and kernel selection
        for t in threads:
            torch.set_num_threads(t)
            train(
                make_model(kind, args), warm, None, epochs=1, device=device, progress=False, **hyper
            )
    for _ in range(args.repeats):
        for t in threads:
            torch.set_num_threads(t)
            for kind in kinds:
                seed_everything(0)
                model = make_model(kind, args)
                cpu = time.process_time()
                history = train(model, data, None, epochs=1, device=device, progress=False, **hyper)
                rates[kind, t][2].append(len(data) / (time.process_time() - cpu))
                rates[kind, t][0].append(len(data) / history["time"][-1])
                start = time.perf_counter()
                evaluate(model, test, device)
                rates[kind, t][1].append(len(test) / (time.perf_counter() - start))
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:  # the resume write: model, AdamW moments, generators, to disk
            model = make_model(kind, args).to(device)
            state = new_state(model, TrainConfig(epochs=10), 1, seed=0, device=device)
            model(torch.zeros(2, args.d_input, device=device)).sum().backward()
            state.optimizer.step()  # AdamW's moments exist, as after a real epoch
            state.epoch = 1
            times = []
            for _ in range(5):
                start = time.perf_counter()
                resume.save(Path(tmp) / "r.pt", {}, state)
                times.append(time.perf_counter() - start)
            writes[kind] = (statistics.median(times), (Path(tmp) / "r.pt").stat().st_size)
    load_after = os.getloadavg()

    gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    print(
        f"date: {started:%Y-%m-%d %H:%M %Z}; machine: {cpu_name()}, "
        f"os.cpu_count()={os.cpu_count()}; device {device}{gpu}"
    )
    print(
        f"torch {torch.__version__}, python {platform.python_version()}; load average "
        f"(1, 5, 15 min) before {tuple(round(x, 2) for x in load_before)}, "
        f"after {tuple(round(x, 2) for x in load_after)}"
    )
    print(
        f"train(): {args.layers} layers × width {args.width}, d_input {args.d_input}, "
        f"batch {args.batch_size}, weight decay {args.weight_decay}, "
        f"noise std {args.noise_std:.4f}; one epoch of {len(data):,} "
        f"random images per measurement, {args.repeats} repeats (listed in order); evaluate() on "
        f"{len(test):,} images"
    )
    print(
        f"{'model':<12} {'params':>8} {'threads':>7} {'train images/s':>18} {'per CPU-s':>16} "
        f"{'eval images/s':>18} {'est. epoch':>10} {'est. ' + str(args.epochs) + ' epochs':>14}"
    )
    for kind in kinds:
        n_params = sum(q.numel() for q in make_model(kind, args).parameters())
        for t in threads:
            tr, ev, cpu = rates[kind, t]
            tr_med, ev_med = statistics.median(tr), statistics.median(ev)
            epoch_s = args.n_train / tr_med + args.n_test / ev_med
            print(
                f"{kind:<12} {n_params:>8,} {t:>7} {' / '.join(f'{r:,.0f}' for r in tr):>18} "
                f"{' / '.join(f'{r:,.0f}' for r in cpu):>16} "
                f"{' / '.join(f'{r:,.0f}' for r in ev):>18} {epoch_s:>9.0f}s "
                f"{args.epochs * epoch_s / 60:>12.1f} min"
            )
    print(
        f"(estimate: {args.epochs} × ({args.n_train:,} / median train rate + {args.n_test:,} / "
        f"median eval rate), wall-clock rates; 'per CPU-s' divides by this process's CPU time "
        f"(all threads), what a core gives when it is not shared; resume writes below come on "
        f"top, at most one per epoch)"
    )
    for kind, (seconds, size) in writes.items():
        print(f"resume write, {kind}: {seconds * 1e3:.0f} ms ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
