"""teaching.py: the brute-force views notebook 00 checks ODT against, and notebook 01's helpers."""

from types import SimpleNamespace

import pytest
import torch

from helpers import random_inputs, random_xnet
from xnets_lite.analysis.brute_force import inertia, network_above, wire_polynomials
from xnets_lite.core.network import symmetrise, to_network
from xnets_lite.core.odt import downstream_grams, upstream_grams
from xnets_lite.course.teaching import RECIPE_MEANING, describe_recipe
from xnets_lite.training.recipes import recipe
from xnets_lite.viz.teaching_figures import class_spectra


@pytest.fixture
def net():
    return to_network(random_xnet(d_input=3, d_model=3, d_hidden=2, n_classes=2, n_layers=2))


def lifted_power(x_tilde, copies):
    """x̃ ⊗ … ⊗ x̃ (copies times), flattened: (batch, P**copies)."""
    out = x_tilde
    for _ in range(copies - 1):
        out = torch.einsum("bi,bj->bij", out, x_tilde).reshape(len(x_tilde), -1)
    return out


@pytest.mark.parametrize("wire", [0, 1, 2])
def test_wire_polynomials_are_the_wires(net, wire):
    x = random_inputs(7, net.d_input)
    for tree in (net, symmetrise(net)):
        t = wire_polynomials(tree, wire)
        assert t.shape == (net.widths[wire], (net.d_input + 1) ** (2**wire))
        values = lifted_power(net.lift(x), 2**wire) @ t.T
        assert torch.allclose(values, net.wires(x)[wire], atol=1e-12)


@pytest.mark.parametrize("wire", [0, 1, 2])
def test_upstream_gram_is_the_inner_product_of_the_symmetrised_polynomials(net, wire):
    t = wire_polynomials(symmetrise(net), wire)
    assert torch.allclose(t @ t.T, upstream_grams(net)[wire], atol=1e-12)


def test_raw_coefficients_give_another_gram(net):
    # the same function, other coefficients: why ODT's Grams are those of the symmetrised tree
    t = wire_polynomials(net, 1)
    assert not torch.allclose(t @ t.T, upstream_grams(net)[1], atol=1e-3)


def test_network_above_reads_the_wire_and_gives_the_downstream_gram(net):
    x = random_inputs(5, net.d_input)
    above = network_above(net, 1)
    assert torch.allclose(above.homogeneous(net.wires(x)[1][:, 1:]), net.homogeneous(x), atol=1e-12)
    u = network_above(symmetrise(net), 1).dense()
    g = upstream_grams(net)[1]
    brute = torch.einsum("cab,cxy,by->ax", u, u, g)
    assert torch.allclose(brute, downstream_grams(net)[1], atol=1e-12)


@pytest.mark.parametrize("wire", [-1, 3, 1.0, True])
def test_bad_wire_is_refused(net, wire):
    with pytest.raises(ValueError, match="wire must be an integer from 0 to 2"):
        wire_polynomials(net, wire)
    with pytest.raises(ValueError, match="wire must be an integer"):
        network_above(net, wire)


def test_inertia_of_a_bilinear_layer_is_at_most_h_each():
    torch.manual_seed(0)
    d, h, o = 6, 3, 4
    left, right = torch.randn(h, d, dtype=torch.float64), torch.randn(h, d, dtype=torch.float64)
    down = torch.randn(o, h, dtype=torch.float64)
    b = torch.einsum("oh,hi,hj->oij", down, left, right)
    positive, negative = inertia(b)
    assert len(positive) == len(negative) == o
    assert max(positive) <= h and max(negative) <= h
    # generic weights: full rank with h = d / 2, so exactly h of each sign
    assert positive == negative == [h] * o
    # a symmetric layer (L = R) with positive D is positive semidefinite: no negative eigenvalue
    p_only, n_only = inertia(torch.einsum("oh,hi,hj->oij", down.abs(), left, left))
    assert n_only == [0] * o and p_only == [h] * o


def test_inertia_counts_the_symmetric_part_and_refuses_non_square():
    antisymmetric = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    assert inertia(antisymmetric) == ([0], [0])  # xᵀAx = 0: the symmetric part is zero
    assert inertia(torch.diag(torch.tensor([2.0, -1.0, 1e-12]))) == ([1], [1])  # below tol
    with pytest.raises(ValueError, match="square matrices"):
        inertia(torch.zeros(2, 3))


def test_the_widened_mlp_of_notebook_01_matches_the_course_xnet():
    """Notebook 01's ``mlp-wide``: ``width_for_parameters`` against a walk over widths."""
    from xnets_lite.core.model import MLP, XNet
    from xnets_lite.training.kinds import width_for_parameters

    count = lambda m: sum(p.numel() for p in m.parameters())
    target = count(XNet(784, 128, 128, 10, 3))
    width = width_for_parameters("mlp", target, 3, 784, 10)
    gaps = {w: abs(count(MLP(784, w, w, 10, 3)) - target) for w in (width - 1, width, width + 1)}
    assert min(gaps, key=gaps.get) == width == 148


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("dataset", ["mnist", "svhn"])
def test_describe_recipe_gives_every_value_a_source_or_meaning(dataset, fast):
    r = recipe(dataset, fast)
    lines = describe_recipe(r)
    assert len(lines) == len(r.describe())
    for line in lines:
        key = line.split()[0]
        value = f"{getattr(r, key)!s}"
        explained = r.sources.get(key) or RECIPE_MEANING.get(key)
        assert explained, f"{line!r} has no source"
        assert line.startswith(key) and value in line and line.endswith(explained), line


def test_class_spectra_has_integer_ticks():
    ce = SimpleNamespace(share=torch.rand(3, 20).sort(descending=True).values)
    fig = class_spectra(ce, "test")
    fig.canvas.draw()
    ax = fig.axes[0]
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert ax.get_xlabel() and fig.axes[0].get_ylabel()
