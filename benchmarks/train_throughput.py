"""Training throughput of a χ-net against the MLP baseline at equal width and depth.

Both models run the same training step as ``xnets_lite.train`` (uint8 → float batch, Gaussian
input noise, forward, cross-entropy, backward, AdamW step) on the same batches, interleaved
in one process: after a warm-up, each repeat times ``--steps`` steps of every model in turn,
so that a change in machine load hits both. The table reports the median samples/s.

    python benchmarks/train_throughput.py                # MNIST shape: 784 inputs, 3×128
    python benchmarks/train_throughput.py --d-input 1024 --width 256 --device cuda
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time

import torch

from xnets_lite.data import Dataset, add_noise
from xnets_lite.model import MLP, XNet
from xnets_lite.train import resolve_device, train_step


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
    p.add_argument("--d-input", type=int, default=784)
    p.add_argument("--width", type=int, default=128, help="d_model = d_hidden")
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=50, help="steps per timed repeat")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=10, help="untimed steps per model first")
    p.add_argument("--noise-std", type=float, default=0.3)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    side = int(round(args.d_input ** 0.5))
    if side * side != args.d_input:
        p.error("--d-input must be a square number of pixels")
    # Random uint8 images: throughput does not depend on the pixel values.
    data = Dataset(torch.randint(0, 256, (args.steps * args.batch_size, side, side), dtype=torch.uint8),
                   torch.randint(0, 10, (args.steps * args.batch_size,)), "random", "train")
    batches = [(data.images[i:i + args.batch_size], data.labels[i:i + args.batch_size])
               for i in range(0, len(data), args.batch_size)]

    shape = dict(d_input=args.d_input, d_model=args.width, d_hidden=args.width, n_classes=10,
                 n_layers=args.layers)
    models = {"χ-net": XNet(**shape), "MLP relu": MLP(**shape, activation="relu"),
              "MLP gelu": MLP(**shape, activation="gelu")}
    runs = {}
    for name, model in models.items():
        model.to(device).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
        gen = torch.Generator(device=device).manual_seed(1)
        time_steps(model, opt, batches[:args.warmup], gen, args.noise_std, device)
        runs[name] = (model, opt, gen, [])
    for _ in range(args.repeats):
        for name, (model, opt, gen, samples_per_s) in runs.items():
            seconds = time_steps(model, opt, batches, gen, args.noise_std, device)
            samples_per_s.append(len(data) / seconds)

    print(f"machine: {cpu_name()}, {torch.get_num_threads()} torch threads "
          f"(os.cpu_count()={os.cpu_count()}); device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    print(f"torch {torch.__version__}, python {platform.python_version()}; "
          f"{args.layers} layers × width {args.width}, d_input {args.d_input}, batch {args.batch_size}, "
          f"{args.repeats} repeats × {args.steps} steps, median")
    base = statistics.median(runs["MLP relu"][3])
    print(f"{'model':<10} {'params':>9} {'samples/s':>11} {'min–max':>17} {'vs MLP relu':>12}")
    for name, (model, _, _, samples_per_s) in runs.items():
        med = statistics.median(samples_per_s)
        n_params = sum(q.numel() for q in model.parameters())
        print(f"{name:<10} {n_params:>9,} {med:>11,.0f} {min(samples_per_s):>8,.0f}–{max(samples_per_s):<8,.0f} "
              f"{med / base:>11.2f}×")


if __name__ == "__main__":
    main()
