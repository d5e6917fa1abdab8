"""The ODT speed benchmark's routes compute the same thing as ``odt`` (apples to apples).

Tiny models only (a few seconds): the dense route and quimb's tree compression must give our
global spectra, the same network norm, and a truncated network of the same norm (dense).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from xnets_lite.core.model import XNet
from xnets_lite.core.odt import odt, upstream_grams

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


R = load("odt_routes")


def tiny(n_layers, seed=0, width=6):
    torch.manual_seed(seed)
    return XNet(d_input=12, d_model=width, d_hidden=width - 1, n_classes=3, n_layers=n_layers)


def norm2(net):
    """Squared Frobenius norm of a factored network over its logit rows."""
    gram = upstream_grams(net)[-1]
    h = net.head[1:]
    return float(torch.einsum("ci,ij,cj->", h, gram, h))


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_dense_route_matches_odt(n_layers):
    model = tiny(n_layers)
    dec = odt(model)
    dense = R.dense_odt(model, rank=2)
    assert len(dense["spectra"]) == len(dec.spectra)
    for ours, theirs in zip(dec.spectra, dense["spectra"]):
        assert ours.shape == theirs.shape
        torch.testing.assert_close(theirs, ours, rtol=1e-9, atol=1e-12 * float(ours[0]))
    for ours, theirs in zip(dec.importance, dense["importance"]):
        torch.testing.assert_close(theirs, ours, rtol=1e-9, atol=1e-12 * float(ours[0]))
    # the decomposed dense network is the same function's tensor: same norm = Σ spectrum
    full = R.dense_norm2(dense["embed"], dense["layers"], dense["head"])
    assert full == pytest.approx(float(dec.spectra[0].sum()), rel=1e-10)
    # and truncating every wire to 2 directions gives a network of the same norm as ours
    t = dense["truncated"]
    assert R.dense_norm2(t["embed"], t["layers"], t["head"]) == pytest.approx(
        norm2(dec.truncate(2)), rel=1e-9
    )
    assert norm2(dec.truncate(2)) < full


def test_ours_route_truncates():
    dec, small = R.ours(tiny(2), rank=2)
    assert small.widths == [3, 3, 3] and dec.widths[0] > 3


@pytest.mark.parametrize("n_layers", [1, 2])
def test_quimb_route_matches_odt(n_layers):
    pytest.importorskip(
        "quimb",
        reason="quimb is a bench-only extra (pip install -e .[bench]); "
        "the quimb route of benchmarks/odt.py is not checked",
    )
    model = tiny(n_layers, seed=1)
    dec = odt(model)
    tn = R.quimb_tree(model)
    # the unrolled tree is the same tensor: 2^L input copies, same norm
    assert len(tn.tensors) == 1 + (2**n_layers - 1) + 2**n_layers
    total = float(dec.spectra[0].sum())
    assert float(tn.norm()) ** 2 == pytest.approx(total, rel=1e-10)
    # quimb's canonicalise-and-compress sees our global spectra at every copy of every wire
    found = R.quimb_spectra(model)
    assert sorted(found) == list(range(n_layers + 1))
    for wire, spectra in found.items():
        assert len(spectra) == (2 ** (n_layers - wire) if wire < n_layers else 1)
        ref = dec.spectra[wire].numpy()
        for s in spectra:
            s = np.sort(s)[::-1]
            k = min(len(s), len(ref))
            np.testing.assert_allclose(s[:k], ref[:k], rtol=1e-8, atol=1e-12 * ref[0])
            assert ref[k:].sum() <= 1e-12 * ref[0]  # quimb only drops (numerical) zeros
    # the timed call really compresses: bonds ≤ max_bond, norm kept up to the discarded part
    small = R.quimb_compress(model, max_bond=2)
    assert max(small.ind_size(ix) for ix in small.inner_inds()) <= 2
    assert 0 < float(small.norm()) ** 2 < total
