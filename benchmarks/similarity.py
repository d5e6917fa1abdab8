"""Similarity speed benchmark: two χ-nets compared exactly, beside the published method and
Monte Carlo.

    .venv/bin/python benchmarks/similarity.py                 # width 128, 3 layers (~1 min)
    .venv/bin/python benchmarks/similarity.py --width 256

Two random-weight ``XNet(d_input=784, d_model=d_hidden=width, n_classes=10)`` (PyTorch's
default init, seeds 0 and 1), float64 on the CPU, one torch/BLAS thread unless ``--threads``.
Every route runs from the two models to its number (``to_network`` included); times are
medians of ``--repeats`` runs after a warm-up.

* ``weights, all degrees``: ``weight_similarity`` (three graded cross-Gram recursions: ab, aa,
  bb), exact; ``weights, total``: the same ungraded; ``wires``: ``wire_similarity``.
* ``published (moment propagation)``: ``moment_propagation``, tensor-similarity's method as
  implemented in this package from its description (the authors' own quimb/cotengra code
  is not timed here); approximate beyond one layer.
* ``Gaussian degree ≤ 2 (exact)``: ``gaussian_low_degree`` twice plus once (ab, aa, bb).
* Monte Carlo: ``weight_monte_carlo`` (the weight cosine, an independent input at every
  copy) and ``gaussian_similarity`` (the function cosine under N(0, I)) at ``--samples``
  inputs: their time and jackknife standard error, and the time they would need for a
  standard error of 1e-3 and 1e-6 (SE ∝ 1/√n, so time ∝ 1/SE²).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--width", type=int, default=128, help="d_model = d_hidden")
    ap.add_argument("--layers", type=int, default=3, help="bilinear layers")
    ap.add_argument("--threads", type=int, default=1, help="torch / BLAS threads (default 1)")
    ap.add_argument("--repeats", type=int, default=5, help="repeats of each exact route")
    ap.add_argument("--samples", type=int, default=4000, help="Monte Carlo inputs")
    return ap.parse_args(argv)


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import torch

    from xnets_lite.analysis import similarity as sim
    from xnets_lite.core.model import XNet
    from xnets_lite.core.network import to_network

    torch.set_num_threads(args.threads)
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(
            XNet(
                d_input=784,
                d_model=args.width,
                d_hidden=args.width,
                n_classes=10,
                n_layers=args.layers,
            ).eval()
        )
    a, b = models
    print(
        f"two random XNets, width {args.width}, {args.layers} layers, 784 inputs, 10 classes; "
        f"float64, {args.threads} thread(s); {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}"
    )
    rows = []

    def exact(name, fn, show):
        t, out = timed(fn, args.repeats)
        rows.append((name, t, show(out)))

    exact(
        "weights, all degrees (exact)",
        lambda: sim.weight_similarity(to_network(a), to_network(b)),
        lambda ws: (
            f"cos {float(ws.cosine()):.6f}; per degree "
            + " ".join(f"{float(c):.3f}" for c in ws.per_degree())
        ),
    )
    exact(
        "weights, total (exact)",
        lambda: sim.weight_cosine(to_network(a), to_network(b)),
        lambda c: f"cos {c:.6f}",
    )
    exact(
        "wires (exact)",
        lambda: sim.wire_similarity(to_network(a), to_network(b)),
        lambda w: "per wire " + " ".join(f"{float(c):.3f}" for c in w),
    )
    exact(
        "published (moment propagation)",
        lambda: sim.moment_propagation(to_network(a), to_network(b)),
        lambda m: f"cos {m.cosine:.6f}",
    )
    exact(
        "Gaussian degree ≤ 2 (exact)",
        lambda: (
            lambda ta, tb: [
                sim.gaussian_low_degree(None, None, x, y) for x, y in ((ta, tb), (ta, ta), (tb, tb))
            ]
        )(sim.low_degree_terms(a), sim.low_degree_terms(b)),
        lambda g: (
            "cos d=1,2 "
            + " ".join(
                f"{float(g[0][d, d] / (g[1][d, d] * g[2][d, d]).sqrt()):.6f}" for d in (1, 2)
            )
        ),
    )
    for name, fn in (
        ("Monte Carlo, weights", lambda: sim.weight_monte_carlo(a, b, args.samples)),
        (
            "Monte Carlo, N(0,I) function",
            lambda: (lambda g: (g.cosine_total, g.cosine_total_se))(
                sim.gaussian_similarity(a, b, args.samples)
            ),
        ),
    ):
        start = time.perf_counter()
        cos, se = fn()
        t = time.perf_counter() - start
        rows.append(
            (
                f"{name} ({args.samples:,} inputs)",
                t,
                f"cos {cos:.4f} ± {se:.1e}; for SE 1e-3: {t * (se / 1e-3) ** 2:,.0f} s, "
                f"for SE 1e-6: {t * (se / 1e-6) ** 2:.1e} s",
            )
        )
    print("\n| route | time (s) | result |\n|---|---:|---|")
    for name, t, show in rows:
        print(f"| {name} | {t:.3f} | {show} |")


if __name__ == "__main__":
    main()
