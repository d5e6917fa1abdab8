"""Exercises of notebook 02 (decomposition): effective dimensions without the constant, the
global spectrum by brute force, and a rank vector with the fewest parameters."""

from __future__ import annotations

import torch

from xnets_lite.core.network import Network, to_network
from xnets_lite.core.odt import Decomposition, effective_dimension, odt
from xnets_lite.course.exercises.core import (
    Mismatch,
    as_float64,
    call,
    exercise,
    expect_close,
    expect_equal_ints,
    random_xnet,
)


def _random_decs():
    return [
        odt(random_xnet(s, d_input=6, d_model=m, d_hidden=4, n_layers=n))
        for s, (m, n) in enumerate([(5, 2), (4, 3), (6, 1)])
    ]


def _wire(i: int) -> str:
    return f"wire w{i}"


@exercise(
    "02.effective_dimension_without_constant",
    hint="dec.importance[w] lists the energy "
    "of every coordinate of wire w in the ODT basis, the constant (index 0) first: "
    "drop it, then effective_dimension(...) of the rest.",
)
def effective_dimension_without_constant(answer, dec=None) -> str:
    """``answer(dec) -> [int per wire]``: 99% effective dimension of the non-constant part."""
    decs = _random_decs() + ([dec] if isinstance(dec, Decomposition) else [])
    for i, d in enumerate(decs):
        want = [effective_dimension(imp[1:], 0.99) for imp in d.importance]
        where = "the course's χ-net" if i == 3 else f"a random χ-net (wires {d.widths})"
        expect_equal_ints(call(answer, d, where=where), want, f"on {where}", _wire)
    if not isinstance(dec, Decomposition):
        return "on random χ-nets."
    from xnets_lite.analysis.interpret import dimension_table

    table = dimension_table(dec, 0.99)

    def dims(key):
        return "/".join(map(str, table[key]))

    return (
        f"without the constant (section 4's counts to compare): ODT {dims('odt_nc')}, "
        f"local SVD writer view {dims('writer_nc')}; with it: ODT {dims('odt')}, "
        f"writer view {dims('writer')}."
    )


def tiny_network() -> Network:
    """Notebook 00's tiny χ-net (seed 0): 4 inputs, width 3, 2 layers, 2 classes."""
    from xnets_lite.core.model import XNet

    torch.manual_seed(0)
    return to_network(XNet(d_input=4, d_model=3, d_hidden=3, n_classes=2, n_layers=2).double())


@exercise(
    "02.global_spectrum_brute_force",
    hint="S = symmetrise(net).dense() has shape "
    "(classes, P, P, P, P), copies left subtree first: the first copy of w1 feeds input "
    "copies 1 and 2. Unfold with rows (i1, i2), columns (class, i3, i4), and square the "
    "singular values.",
)
def global_spectrum_brute_force(answer) -> str:
    """``answer(net) -> tensor``: squared singular values of the symmetrised tree unfolded at
    the first copy of wire w1 (two-layer networks), largest first."""
    nets = [tiny_network()] + [
        to_network(random_xnet(s, d_input=3, d_model=m, d_hidden=3, n_classes=c))
        for s, (m, c) in enumerate([(3, 2), (4, 3)], start=7)
    ]
    for i, net in enumerate(nets):
        want = odt(net).spectra[1]
        where = (
            "notebook 00's tiny network" if i == 0 else f"a random network (widths {net.widths})"
        )
        got = call(answer, net, where=where)
        got = as_float64(got, "the spectrum").flatten().sort(descending=True).values
        if len(got) < len(want):
            raise Mismatch(
                f"on {where}: {len(got)} values; wire w1 has {len(want)} coordinates, "
                f"so the unfolding has that many (non-zero) singular values."
            )
        expect_close(got[: len(want)], want, f"on {where}, value", rtol=1e-7, atol=1e-9)
        if len(got) > len(want) and float(got[len(want) :].abs().max()) > 1e-8 * float(want[0]):
            raise Mismatch(
                f"on {where}: value {len(want)} is {float(got[len(want)]):.3g}, but an "
                f"unfolding at w1 has rank ≤ {len(want)}: you unfolded elsewhere."
            )
    return "the brute-force unfolding matches ODT's global spectrum of w1 (dec.spectra[1])."


def _measure(dec, data, ranks):
    from xnets_lite.analysis.interpret import measure_truncation

    return measure_truncation(dec, data, ranks)


def target_accuracy(dec, data) -> float:
    """97.5%, or half a point under the full network where that is lower (the fast setting)."""
    from xnets_lite.core.evaluation import accuracy

    return min(0.975, accuracy(dec.network, data) - 0.005)


def best_uniform(dec, data, target: float) -> dict:
    """The smallest rank k, the same on every wire, whose truncation reaches ``target``
    (bisection over k, assuming accuracy grows with k)."""
    lo, hi = 1, min(dec.widths) - 1
    best = _measure(dec, data, hi)
    while lo < hi:
        mid = (lo + hi) // 2
        row = _measure(dec, data, mid)
        if row["accuracy"] >= target:
            hi, best = mid, row
        else:
            lo = mid + 1
    return best if best["rank"] == hi else _measure(dec, data, hi)


@exercise(
    "02.fewest_parameters",
    hint="start from the smallest uniform rank that reaches the "
    "target, then lower one wire at a time while the accuracy stays above it (the "
    "single-wire table above shows which wires tolerate it).",
)
def fewest_parameters(answer, dec=None, test_data=None) -> str:
    """``answer``: a rank per wire; test accuracy ≥ the target and no more parameters than
    the best uniform rank."""
    if not isinstance(dec, Decomposition) or test_data is None:
        raise Mismatch("this check needs the notebook's dec and test_data.")
    try:
        ranks = [int(k) for k in answer]
    except (TypeError, ValueError):
        raise Mismatch(
            f"answer should be a list of {len(dec.widths)} integers (one rank per "
            f"wire), got {answer!r}."
        ) from None
    try:
        row = _measure(dec, test_data, ranks)
    except (TypeError, ValueError) as err:
        raise Mismatch(str(err)) from None
    target = target_accuracy(dec, test_data)
    if row["accuracy"] < target:
        raise Mismatch(
            f"ranks {ranks}: test accuracy {row['accuracy']:.2%} < the target {target:.2%}."
        )
    uniform = best_uniform(dec, test_data, target)
    if row["parameters"] > uniform["parameters"]:
        raise Mismatch(
            f"ranks {ranks} reach {row['accuracy']:.2%} with {row['parameters']:,} "
            f"parameters, but rank {uniform['rank']} on every wire already does it "
            f"with {uniform['parameters']:,}."
        )
    return (
        f"ranks {ranks}: {row['accuracy']:.2%} ≥ {target:.2%} with {row['parameters']:,} "
        f"parameters; the best uniform rank ({uniform['rank']}) needs "
        f"{uniform['parameters']:,}."
    )
