"""The readings of ``xnets_lite.analysis`` as the lines the notebooks print.

The analysis layer returns numbers; this module turns them into labelled text, so that a
reading and its printed form are defined once.
"""

from __future__ import annotations

from torch import Tensor

from xnets_lite.analysis.degrees import degree_accuracy, variance_share
from xnets_lite.analysis.validation import Ablation, selectivity


def degree_lines(parts: Tensor, labels: Tensor, label: str = "", upto: int = 4) -> list[str]:
    """Two printable lines for ``parts``, every value labelled: the accuracy of the degree-≤k
    part (``k=0`` … ``k=upto``, then the full sum, all degrees) and each degree's ``variance_share``
    (``d=1`` … ``d=upto``)."""
    acc, share = degree_accuracy(parts, labels), variance_share(parts)
    upto = min(upto, len(acc) - 1)
    return [
        f"{label:<24} accuracy of degree ≤ k: "
        + " / ".join(f"k={k} {float(a):.1%}" for k, a in enumerate(acc[: upto + 1]))
        + f" (full, k={len(acc) - 1}: {float(acc[-1]):.1%})",
        f"{'':<24} variance share by degree: "
        + " / ".join(f"d={d} {float(s):.2f}" for d, s in enumerate(share[1 : upto + 1], 1)),
    ]


def destination_line(name: str, k: int, dest: dict) -> str:
    """One ``ablation_destinations`` result as a line (means over the classes, in %)."""
    before, after = (100 * float(dest[key].mean()) for key in ("before", "after"))
    return (
        f"{name:<18} k={k}: other classes' images predicted as c: {before:.1f}% before, "
        f"{after:.1f}% after; of the images the ablation makes wrong, "
        f"{100 * float(dest['of_lost'].nanmean()):.0f}% go to c"
    )


def ablation_lines(ablations: list[Ablation]) -> list[str]:
    """A printable table: per set of directions and k, the accuracy lost in points by the
    ablated class (mean, lowest … highest over classes), by the others, and the selectivity."""
    lines = [f"{'directions':<27} k   own: mean  (min … max)   others   own − others (pts)"]
    for ab in ablations:
        for k in ab.ks:
            own, others = 100 * ab.diagonal_drop(k), 100 * ab.off_diagonal_drop(k)
            lines.append(
                f"{ab.name:<27} {k}   {own.mean():9.1f}  ({own.min():5.1f} … "
                f"{own.max():5.1f})   {others.mean():6.1f}   "
                f"{100 * selectivity(ab, k):8.1f}"
            )
    return lines


def verdict_line(result: dict) -> str:
    """One ``compare_readings`` result as a sentence with its numbers (points)."""
    return (
        f"k = {result['k']}: {result['reading']} {100 * result['score']:.1f} pts vs best "
        f"control {result['best_control']} {100 * result['best_score']:.1f} pts "
        f"→ {result['verdict']}"
    )


def sparsity_line(row: dict, name: str) -> str:
    """One ``sparsity_rows`` row as the line notebook 04 prints."""
    what = "+ head: class matrices" if row["writes"] == "logits" else f"writes {row['writes']}"
    return (
        f"{name}, layer {row['layer']} ({what}): products hold {row['weights']:.1%} of the "
        f"squared coefficients | on data {row['variance_share']:.1%} of the output's variance "
        f"({row['ratio']:.1f}× their coefficient share), {row['size_ratio']:.2f}× the linear "
        f"terms' size"
    )


def trained_at_size_line(row: dict, trained: dict, baseline: tuple[float, int]) -> str:
    """One truncation against models trained directly at about its size, as notebook 02
    prints it.

    Args:
        row: an ``interpret.accuracy_vs_rank`` row (``rank``, ``parameters``, ``accuracy``).
        trained: ``{name: (width, parameters, accuracy)}``, the models trained directly.
        baseline: ``(accuracy, parameters)`` of the logistic regression.
    """
    lr_acc, lr_params = baseline
    best = max(a for _, _, a in trained.values())
    return (
        f"rank {row['rank']}/wire: truncated {row['parameters']:,} parameters, "
        f"{row['accuracy']:.2%}"
        + "".join(
            f" | {name} trained at width {w}: {n:,}, {a:.2%}" for name, (w, n, a) in trained.items()
        )
        + f" | logistic regression {lr_params:,}, {lr_acc:.2%}"
        + f" → truncated {'better' if row['accuracy'] > best else 'no better'} than direct "
        "training"
    )


def _ranks(ranks: list[int]) -> str:
    words = [str(k) for k in ranks]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def direct_training_verdict(rows: dict, trained: dict) -> str:
    """The verdict over the ranks compared: the compression claim (a truncated χ-net is a
    better model of its size than one trained at that size) fails at a rank where any model
    trained directly at about its size is at least as accurate, and holds where the
    truncation beats them all.

    Args:
        rows: ``{rank: accuracy_vs_rank row}``.
        trained: ``{rank: {name: (width, parameters, accuracy)}}``, as
            ``trained_at_size_line`` takes them.
    """
    holds = {k: rows[k]["accuracy"] > max(a for _, _, a in trained[k].values()) for k in rows}
    fails = [k for k in rows if not holds[k]]
    wins = [k for k in rows if holds[k]]
    parts = []
    if fails:
        parts.append(
            f"fails at rank {_ranks(fails)} per wire (a model trained directly at about "
            "that size is at least as accurate)"
        )
    if wins:
        parts.append(
            f"holds at rank {_ranks(wins)} per wire (the truncation beats every model "
            "trained directly at about that size)"
        )
    return "verdict: against direct training, the compression claim " + "; it ".join(parts)
