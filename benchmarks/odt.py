"""ODT speed benchmark: our factored ``odt`` against the dense route and quimb's tree compress.

    .venv/bin/python benchmarks/odt.py            # full grid, widths 64–512, 1–4 layers (~4–5 min)
    .venv/bin/python benchmarks/odt.py --quick    # widths 64–256, 1 and 3 layers (~1 min)

Random-weight ``XNet(d_input=784, d_model=d_hidden=width, n_classes=10, norm=None)`` with
PyTorch's default init, float64 on the CPU, one torch/BLAS thread unless ``--threads``.
Every route runs from the model to its result (``to_network`` included).
``ours`` = ``odt(model)`` (which also computes the local-SVD baseline spectra),
``ours+trunc`` adds ``.truncate(rank)``; ``dense`` and ``quimb`` include
their truncation to the same size (see ``odt_routes.py`` for what each route does).
Times are medians of several repeats after a warm-up; a baseline size whose predicted time
(from the previous width, ∝ n⁴) or memory is over the caps is skipped and marked so.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="a smaller grid (widths ≤ 256, 1 and 3 layers)"
    )
    ap.add_argument("--widths", type=int, nargs="+", help="widths (d_model = d_hidden)")
    ap.add_argument("--depths", type=int, nargs="+", help="numbers of layers")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch / BLAS threads (default 1: robust when the cores are shared)",
    )
    ap.add_argument(
        "--rank",
        type=int,
        default=16,
        help="directions kept per wire by the truncation (quimb: max_bond = rank + 1)",
    )
    ap.add_argument("--repeats", type=int, default=5, help="repeats of our route (median)")
    ap.add_argument(
        "--cap",
        type=float,
        default=75.0,
        help="skip a baseline size predicted to take longer than this (s)",
    )
    ap.add_argument(
        "--mem-gb",
        type=float,
        default=8.0,
        help="skip a baseline size predicted to need more memory than this (GB)",
    )
    ap.add_argument("--no-dense", action="store_true")
    ap.add_argument("--no-quimb", action="store_true")
    return ap.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:  # BLAS thread pools read these when they load: set them first
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import numpy as np  # noqa: E402
import odt_routes as R  # noqa: E402
import torch  # noqa: E402

from xnets_lite.core.model import XNet  # noqa: E402


def make_model(width: int, n_layers: int, seed: int = 0) -> XNet:
    torch.manual_seed(seed)
    return XNet(
        d_input=784, d_model=width, d_hidden=width, n_classes=10, n_layers=n_layers, norm=None
    ).double()


def timed(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), times


def n_wire(width: int) -> int:
    return width + 1  # residual stream + the homogeneous coordinate


def dense_mem_gb(width, n_layers):  # the L tensors + ~3 n³ temporaries, float64
    return (n_layers + 3) * n_wire(width) ** 3 * 8 / 1e9


def quimb_mem_gb(width, n_layers):  # 2^L − 1 nodes, ~2 copies alive while QR/SVD-ing
    return 2 * (2**n_layers - 1 + 2) * n_wire(width) ** 3 * 8 / 1e9


def fit_exponent(rows):
    """log t = a log w + b, least squares. ``rows``: [(width, seconds)]."""
    w, t = np.log([r[0] for r in rows]), np.log([r[1] for r in rows])
    return float(np.polyfit(w, t, 1)[0])


def fit_common_exponent(by_depth):
    """One slope in log width for all depths, one intercept per depth."""
    xs, ys = [], []
    depths = sorted(by_depth)
    for j, d in enumerate(depths):
        for w, t in by_depth[d]:
            row = [np.log(w)] + [1.0 if k == j else 0.0 for k in range(len(depths))]
            xs.append(row)
            ys.append(np.log(t))
    coef, *_ = np.linalg.lstsq(np.array(xs), np.array(ys), rcond=None)
    return float(coef[0])


def fmt(t):
    if t is None:
        return "—"
    if isinstance(t, str):
        return t
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def main(args):
    torch.set_num_threads(args.threads)
    widths = args.widths or ([64, 128, 256] if args.quick else [64, 128, 256, 512])
    depths = args.depths or ([1, 3] if args.quick else [1, 2, 3, 4])
    have_quimb = not args.no_quimb
    if have_quimb:
        try:
            import quimb  # noqa: F401
        except ImportError:
            print("quimb is not installed (pip install -e .[bench]): skipping the quimb route")
            have_quimb = False

    import platform

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print("# command: .venv/bin/python " + " ".join(sys.argv))
    print(
        f"# {cpu}; {os.cpu_count()} logical CPUs; torch {torch.__version__}, "
        f"torch threads {torch.get_num_threads()}; load average {os.getloadavg()}"
    )
    if have_quimb:
        import quimb

        print(f"# quimb {quimb.__version__} (numpy {np.__version__} backend)")

    # warm-up every route once on a small model (library initialisation, first-call costs)
    small = make_model(32, 2)
    R.ours(small, args.rank)
    R.dense_odt(small, args.rank)
    if have_quimb:
        R.quimb_compress(small, args.rank + 1)

    results = []
    t_start = time.perf_counter()
    for n_layers in depths:
        last = {"dense": None, "quimb": None}
        for width in widths:
            model = make_model(width, n_layers)
            row = dict(width=width, layers=n_layers)
            t = time.perf_counter()
            dec = R.ours(model)  # warm-up at this size
            warm = time.perf_counter() - t
            repeats = args.repeats if warm < 1 else max(3, args.repeats // 2)
            t, _ = timed(lambda: R.ours(model), repeats)
            row["ours"] = t
            t, _ = timed(lambda: dec.truncate(min(args.rank, min(dec.widths) - 1)), args.repeats)
            row["ours+trunc"] = row["ours"] + t

            for route, enabled, mem, run in (
                (
                    "dense",
                    not args.no_dense,
                    dense_mem_gb(width, n_layers),
                    lambda: R.dense_odt(model, args.rank),
                ),
                (
                    "quimb",
                    have_quimb,
                    quimb_mem_gb(width, n_layers),
                    lambda: R.quimb_compress(model, args.rank + 1),
                ),
            ):
                if not enabled:
                    row[route] = None
                    continue
                prev = last[route]
                predicted = (
                    None if prev is None else prev[1] * (n_wire(width) / n_wire(prev[0])) ** 4
                )
                over = (
                    [f"~{predicted:.0f} s"]
                    if predicted is not None and predicted > args.cap
                    else []
                ) + ([f"~{mem:.0f} GB"] if mem > args.mem_gb else [])
                if over:
                    row[route] = f"skipped ({', '.join(over)})"
                    continue
                first, _ = timed(run, 1)
                if first < 3:
                    t, _ = timed(run, 3 if first < 1 else 2)
                    t = float(np.median([first, t]) if first >= 1 else t)
                else:
                    t = first
                row[route] = t
                last[route] = (width, t)
            results.append(row)
            print(
                f"  L={n_layers} width={width}: "
                + ", ".join(f"{k} {fmt(row[k])}" for k in ("ours", "ours+trunc", "dense", "quimb")),
                flush=True,
            )

    # scaling exponent of our route in the width
    by_depth = {d: [(r["width"], r["ours"]) for r in results if r["layers"] == d] for d in depths}
    exps = {d: fit_exponent(rows) for d, rows in by_depth.items() if len(rows) > 1}
    common = fit_common_exponent(by_depth) if len(widths) > 1 else None

    print()
    print(
        f"Total benchmark time {time.perf_counter() - t_start:.0f} s; "
        f"load average at the end {os.getloadavg()}"
    )
    print()
    print(
        "| layers | width | ours `odt` | ours + truncate | dense route | quimb "
        f"`compress_all_tree(max_bond={args.rank + 1})` | dense / ours | quimb / ours |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        ratio = lambda k: (
            f"{r[k] / r['ours+trunc']:.0f}×"  # noqa: E731
            if isinstance(r[k], float)
            else "—"
        )
        print(
            f"| {r['layers']} | {r['width']} | {fmt(r['ours'])} | {fmt(r['ours+trunc'])} | "
            f"{fmt(r['dense'])} | {fmt(r['quimb'])} | {ratio('dense')} | {ratio('quimb')} |"
        )
    print()
    print(
        "Scaling exponent of `odt` in the width (log-log least squares over widths "
        f"{widths}): "
        + ", ".join(f"{d} layer{'s' if d > 1 else ''}: {e:.2f}" for d, e in exps.items())
        + (f"; all depths (common slope): {common:.2f}" if common is not None else "")
    )
    return results


if __name__ == "__main__":
    main(ARGS)
