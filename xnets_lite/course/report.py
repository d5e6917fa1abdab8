"""The ODT report on a trained χ-net: the measurements the course's claims rest on, in one call.

``python -m xnets_lite odt --checkpoint checkpoints/mnist/xnet.pt`` prints accuracy vs
truncation rank and ODT vs local-SVD effective dimension per wire, and saves the class
eigenvector grid, the compositional tree, the effective-dimension bar chart, the spectra and
the accuracy-vs-rank curve under ``figures/<dataset>/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from xnets_lite.analysis.interpret import (
    accuracy_vs_rank,
    class_eigenvectors,
    compositional_tree,
)
from xnets_lite.core.evaluation import accuracy
from xnets_lite.core.model import XNet, num_parameters
from xnets_lite.core.odt import check_ranks, effective_dimension, odt, participation_ratio
from xnets_lite.data import Dataset, dataset_label

DEFAULT_RANKS = (1, 2, 4, 8, 16, 32, 64)


def odt_report(
    model: XNet,
    test_data: Dataset,
    out_dir: str | Path | None = None,
    ranks: Sequence[int] = DEFAULT_RANKS,
    tree_rank: int = 15,
    device: torch.device | str | None = None,
    energy: float = 0.99,
    printer: Callable[[str], None] = print,
) -> dict:
    """Decompose ``model`` (an ``XNet``), measure, print, and save the figures.

    Returns a dict with the decomposition, the timing, the effective dimensions and the
    accuracy rows, so that notebooks and tests can check the numbers.
    """
    started = time.perf_counter()
    dec = odt(model, device=device)
    check_ranks(dec.widths, tree_rank)  # fail before printing, not after
    if dec.network.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    full = accuracy(model, test_data, batch_size=1000)
    widths = [w - 1 for w in dec.widths]
    ranks = [r for r in ranks if r <= min(widths)] + [min(widths)]
    result = dict(
        decomposition=dec,
        seconds=seconds,
        full_accuracy=full,
        rows=accuracy_vs_rank(dec, test_data, sorted(set(ranks))),
        odt_dims=[effective_dimension(s, energy) for s in dec.spectra],
        svd_dims=dec.local_effective_dimensions(energy, view="writer"),
        reader_dims=dec.local_effective_dimensions(energy, view="reader"),
        figures={},
    )
    _print_report(model, test_data, result, energy, printer)
    if out_dir is not None:
        result["figures"] = _save_figures(result, Path(out_dir), test_data, tree_rank, energy)
        printer(f"\nfigures written to {out_dir}/: {', '.join(result['figures'])}")
    return result


def _print_report(
    model: XNet, test_data: Dataset, result: dict, energy: float, printer: Callable[[str], None]
) -> None:
    """The report's lines: the setting, the effective dimensions per wire, accuracy vs rank."""
    dec = result["decomposition"]
    printer(f"dataset: {dataset_label(test_data.name)} · {len(test_data)} test images")
    printer(
        f"ODT of a {len(model.blocks)}-layer χ-net (width {model.config['d_model']}, "
        f"{model.config.get('block', 'residual')} blocks, norm={model.norm}) in "
        f"{result['seconds']:.2f} s on {dec.network.device}"
    )
    printer(
        f"full model: test accuracy {result['full_accuracy']:.2%}, "
        f"{num_parameters(model):,} parameters"
    )
    printer(f"\neffective dimension per wire ({100 * energy:g}% of the spectral energy):")
    printer(
        "(local SVD: one map at a time, in raw coordinates; writer = the map producing the "
        "wire, reader = the map reading it)"
    )
    printer(
        f"{'wire':>6} {'size':>6} {'ODT':>6} {'SVD writer':>11} {'SVD reader':>11} {'ODT PR':>8}"
    )
    columns = (result["odt_dims"], result["svd_dims"], result["reader_dims"], dec.spectra)
    for wire, (n, a, b, c, s) in enumerate(zip(dec.widths, *columns)):
        printer(
            f"{'w' + str(wire):>6} {n:>6} {a:>6} {b:>11} {c:>11} {participation_ratio(s):>8.1f}"
        )
    printer("\naccuracy vs rank (directions kept on every wire, besides the constant):")
    printer(f"{'rank':>6} {'accuracy':>9} {'agreement':>10} {'parameters':>11}")
    for r in result["rows"]:
        printer(
            f"{r['rank']:>6} {r['accuracy']:>9.2%} {r['agreement']:>10.2%} {r['parameters']:>11,}"
        )


def _save_figures(
    result: dict, out_dir: Path, test_data: Dataset, tree_rank: int, energy: float
) -> dict:
    """The report's five figures under ``out_dir``: ``{file name: path written}``."""
    from xnets_lite.viz import plots

    dec, label = result["decomposition"], dataset_label(test_data.name)
    ce = class_eigenvectors(dec, k=1)
    tree = compositional_tree(dec, tree_rank)
    figures = {
        "class_eigenvectors.png": plots.plot_class_eigenvectors(
            ce, f"Top eigenvector per class, from the weights — {label}"
        ),
        "compositional_tree.png": plots.plot_tree(
            tree, f"Compositional tree (top {tree_rank} directions per wire) — {label}"
        ),
        "effective_dimension.png": plots.plot_effective_dimensions(
            dec, f"ODT vs local SVD — {label}", energy, without_constant=True
        ),
        "spectra.png": plots.plot_spectra(dec, f"Global spectra per wire — {label}"),
        "accuracy_vs_rank.png": plots.plot_accuracy_vs_rank(
            result["rows"], f"Accuracy vs truncation — {label}", result["full_accuracy"]
        ),
    }
    written = {}
    for filename, fig in figures.items():
        written[filename] = plots.save_figure(fig, out_dir / filename)
        plots.plt.close(fig)
    return written
