"""Notebook 06's readings (``analysis.similarity`` and ``analysis.similarity_study``) as the
lines it prints: each reading is computed there and printed here, every value labelled."""

from __future__ import annotations

from torch import Tensor

from xnets_lite.analysis.similarity_study import DRIFT, SETTLED, carryover_verdict, settles


def _values(values) -> str:
    return " ".join(f"{float(v):.3f}" for v in values)


def cross_gram_check_line(shape, err_total: float, err_degree: float) -> str:
    """Wire 1's cross-Gram (``shape``) by the recursion against explicit tensors."""
    return (
        f"wire 1 cross-Gram, {tuple(shape)}: recursion vs explicit tensors, relative error "
        f"{err_total:.1e} in total, {err_degree:.1e} per degree (float64)"
    )


def dense_check_line(n_layers: int, d_in: int, shape, err: float, cosine: float) -> str:
    """The recursion against the dense tensor: ``shape`` (degrees, classes)."""
    return (
        f"{n_layers} layer(s), input {d_in}: {shape[0]} degrees × {shape[1]} classes, "
        f"relative error {err:.1e}; cosine {cosine:+.4f}"
    )


def invariance_line(name: str, err: float) -> str:
    """How much a move that keeps the tree changes the per-degree, per-class inner products."""
    return f"tiny pair, {name:<26} relative change per degree and class: {err:.1e}"


def self_similarity_line(kind: str, ws) -> str:
    """A model against itself in ODT's basis (``WeightSimilarity`` ``ws``): cosine − 1."""
    worst = float((ws.per_degree() - 1).abs().max())
    return (
        f"{kind} against itself in ODT's basis: cosine 1 {float(ws.cosine()) - 1:+.1e}, "
        f"per degree max |cos − 1| {worst:.1e}"
    )


def summary_lines(table: dict, n_gauss: int, gauss_se: Tensor) -> list[str]:
    """The seed × seed summary: per measure (``table``: name → ``group_summary`` result) the
    mean cosine within each group and across, then the Monte Carlo's size and largest SE."""
    lines = ["mean cosine between different models (pairs i ≠ j):"]
    for name, (within, across) in table.items():
        groups = "  ".join(f"{g} {v:+.3f}" for g, v in within.items())
        lines.append(f"{name:<34} {groups}  residual×direct {across:+.3f}")
    lines.append(
        f"Monte Carlo: {n_gauss:,} draws; largest jackknife SE of a total cosine "
        f"{float(gauss_se[..., -1].max()):.3f}"
    )
    return lines


def energy_line(group: str, share: Tensor) -> str:
    """A group's mean share of ‖T‖² by degree (``energy_by_group``): 0, 1, 2 and ≥ 3."""
    return (
        f"{group}: share of ‖T‖² by degree 0 / 1 / 2 / ≥3: {float(share[0]):.3f} / "
        f"{float(share[1]):.3f} / {float(share[2]):.3f} / {float(share[3:].sum()):.3f} "
        "(mean over seeds)"
    )


def untrained_line(kind: str, cosines: dict) -> str:
    """Two untrained models' cosines (``untrained_cosines``)."""
    values = "  ".join(f"{k} {v:+.3f}" for k, v in cosines.items())
    return f"baseline, two untrained {kind} models: {values}"


def wire_space_line(wires: Tensor, rank0: int, n_coords: int) -> str:
    """``wire_space_similarity``'s result for the residual seeds, with wire 0's baseline."""
    return (
        "residual seeds, wire spaces (projector cosine, mean over pairs), w0…wL: "
        + _values(wires)
        + f"; two random subspaces of rank {rank0} in the {n_coords} input coordinates "
        f"(wire 0's baseline): {rank0 / n_coords:.3f}"
    )


def drift_line(row: dict) -> str:
    """One ``moment_drift`` row: the published ``E‖f‖²`` against Monte Carlo, and for one
    layer against the closed form."""
    est, mc = row["published"], row["mc"]
    line = (
        f"{row['depth']} layer(s): published E‖f‖² {est:.4g}, Monte Carlo {mc:.4g} ± "
        f"{row['mc_se']:.2g} → ratio {est / mc:.3f}, "
        f"{'agrees' if row['agrees'] else 'drifts'} ({DRIFT:.0%} criterion)"
    )
    if "exact" in row:
        exact = row["exact"]
        line += (
            f"; closed form {exact:.6g}, |published − closed form| / closed form "
            f"{abs(est - exact) / exact:.1e}"
        )
    return line


def gap_line(kind: str, n_layers: int, gaps: list, z: list) -> str:
    """``published_gaps`` for one kind's seeds."""
    pairs = ", ".join(f"{v:+.3f} ({t:+.1f} SE)" for v, t in zip(gaps, z))
    return (
        f"{kind} seeds, {n_layers} layers: published cosine − Monte Carlo cosine, per pair: "
        + pairs
    )


def depth_lines(names: list[str], cos: Tensor) -> list[str]:
    """Models of different depths compared on the test set (``parts_matrix``'s (M, M, D + 1)
    ``cos``): in total, degree 1 and degree 2, for every pair."""
    lines = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            lines.append(
                f"{names[i]} vs {names[j]}: test logits {float(cos[i, j, -1]):+.3f}; degree 1 "
                f"{float(cos[i, j, 1]):+.3f}, degree 2 {float(cos[i, j, 2]):+.3f}"
            )
    return lines


def span_baseline_line(d_input: int, k: int = 3) -> str:
    """What random k-spans and random lines give in ``d_input`` dimensions."""
    return (
        f"mean over classes and pairs of seeds; random {k}-spans: {k / d_input:.4f}, "
        f"random lines: {1 / d_input:.4f}"
    )


def carryover_lines(kind: str, function: float, carry: dict) -> list[str]:
    """One kind's readings between seeds (``reading_carryover``: name → (span, top)), after
    how similar its functions are (``function``), each with its verdict."""
    lines = [f"\n{kind}: function (data cosine, total) {function:.3f}"]
    for name, (span, top) in carry.items():
        lines.append(
            f"  {name:<22} span similarity {span:.3f}   top vector matched |cos| {top:.3f}   "
            f"→ {carryover_verdict(span)}"
        )
    return lines


def random_match_line(rank: int, width: int, n_coords: int, value: float) -> str:
    """``random_match_baseline``'s value, with what it compares."""
    return (
        f"baseline, wire 0: {rank} random directions against {width} random orthonormal ones "
        f"in the {n_coords} input coordinates, mean best |cos| {value:.3f}"
    )


def direction_line(kind: str, cos: Tensor, cos2: Tensor) -> str:
    """``direction_carryover`` for one kind, with the verdict per wire (from the squares)."""
    verdicts = ", ".join(carryover_verdict(float(v)) for v in cos2)
    return (
        f"{kind}: mean best |cos| per wire w0…w{len(cos) - 1}: {_values(cos)}; squared: "
        f"{_values(cos2)} → {verdicts}"
    )


def trajectory_lines(
    kind: str, same: float, accs: list, weights: Tensor, data: Tensor, level: float = SETTLED
) -> list[str]:
    """The trajectory: how far the last snapshot is from the checkpoint (``same``), every
    epoch's accuracy and cosines with the final model (last column of the (E, E) ``weights``
    and ``data``), and the epochs at which each settles (``settles``)."""
    lines = [
        f"{len(accs)} epochs; last snapshot vs the checkpointed {kind}: max |Δweight| {same:.1e}"
    ]
    for e, acc in enumerate(accs):
        lines.append(
            f"epoch {e + 1:>2}: test accuracy {acc:.2%}; cosine with the final model: "
            f"weights {float(weights[e, -1]):.4f}, test logits {float(data[e, -1]):.4f}"
        )
    settle_w, settle_d = settles(weights[:, -1], level), settles(data[:, -1], level)
    order = (
        "the function first" if settle_d < settle_w else "the weights no later than the function"
    )
    lines.append(
        f"the function settles at epoch {settle_d}, the weights at epoch {settle_w} "
        f"({level} criterion): {order}"
    )
    return lines
