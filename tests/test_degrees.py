"""The split of every logit by polynomial degree: on a hand-built network whose linear,
quadratic and cubic parts are known, and against the dense tensor of tiny random χ-nets."""

import pytest
import torch

from helpers import assert_close, contract, random_inputs, random_xnet
from xnets_lite.analysis.degrees import (
    degree_accuracy,
    degree_energy,
    logit_degrees,
    variance_share,
)
from xnets_lite.core.network import BilinearLayer, Network, symmetrise, to_network


def hand_built() -> Network:
    """logit = 3 + 2x₁ − x₂ + 5x₁x₂ + 7x₁²x₂, as a two-layer tree on x̃ = [1, x₁, x₂].

    Layer 1 writes w₁ = [1, x₁, x₂, x₁x₂] (products 1·1, x₁·1, x₂·1, x₁·x₂); layer 2 writes
    w₂ = [1, x₁, x₂, x₁x₂, x₁·x₁x₂] and the head reads it."""
    e = torch.eye(3, dtype=torch.float64)
    left1 = torch.stack([e[0], e[1], e[2], e[1]])
    right1 = torch.stack([e[0], e[0], e[0], e[2]])
    f = torch.eye(4, dtype=torch.float64)
    left2 = torch.stack([f[0], f[1], f[2], f[3], f[1]])
    right2 = torch.stack([f[0], f[0], f[0], f[0], f[3]])
    head = torch.tensor([[1, 0, 0, 0, 0], [3, 2, -1, 5, 7]], dtype=torch.float64)
    return Network(
        e,
        [BilinearLayer(left1, right1, f), BilinearLayer(left2, right2, torch.eye(5).double())],
        head,
    )


def test_hand_built_parts_are_the_known_monomials():
    x = random_inputs(7, 2, seed=3)
    x1, x2 = x[:, 0], x[:, 1]
    parts = logit_degrees(hand_built(), x)[..., 0]
    assert parts.shape == (5, 7)
    expected = [3 + 0 * x1, 2 * x1 - x2, 5 * x1 * x2, 7 * x1**2 * x2, 0 * x1]
    for d in range(5):
        assert_close(parts[d], expected[d], 1e-12)


def test_hand_built_parts_around_a_center():
    # Around μ: f(μ + u) expanded in u; f₃ = 7u₁²u₂ whatever μ is (the top degree).
    mu = torch.tensor([0.5, -2.0], dtype=torch.float64)
    x = random_inputs(5, 2, seed=4)
    parts = logit_degrees(hand_built(), x, center=mu)[..., 0]
    u1, u2 = (x - mu).T
    m1, m2 = mu
    assert_close(parts[0], 3 + 2 * m1 - m2 + 5 * m1 * m2 + 7 * m1**2 * m2 + 0 * u1, 1e-12)
    assert_close(parts[1], (2 + 5 * m2 + 14 * m1 * m2) * u1 + (-1 + 5 * m1 + 7 * m1**2) * u2)
    assert_close(parts[3], 7 * u1**2 * u2, 1e-12)
    x1, x2 = x.T
    assert_close(parts.sum(0), 3 + 2 * x1 - x2 + 5 * x1 * x2 + 7 * x1**2 * x2)


def test_hand_built_energy_is_the_squared_coefficients():
    # The tree as built (not symmetrised) has one entry per monomial: 3², 2² + 1², 5², 7².
    energy = degree_energy(hand_built(), symmetric=False)[:, 0]
    assert_close(energy, torch.tensor([9.0, 5.0, 25.0, 49.0, 0.0], dtype=torch.float64), 1e-12)


def degree_mask(p: int, n_copies: int) -> torch.Tensor:
    """(P,)*n: how many of the indices are pixels (≠ 0), for every entry of a dense tensor."""
    grids = torch.meshgrid(*[torch.arange(p)] * n_copies, indexing="ij")
    return sum((g != 0).long() for g in grids)


@pytest.mark.parametrize("block", ["residual", "direct"])
@pytest.mark.parametrize("norm", [None, "batch-rms"])
def test_degrees_match_the_dense_tensor(block, norm):
    model = random_xnet(3, 3, 4, 2, n_layers=2, norm=norm, block=block, seed=5)
    net = to_network(model)
    x = random_inputs(6, 3, seed=6)
    mu = random_inputs(1, 3, seed=7)[0]
    parts = logit_degrees(model, x, center=mu)
    assert parts.shape == (5, 6, 2)
    with torch.no_grad():
        assert_close(parts.sum(0), model(x))
    # brute force: the tree's tensor as a function of u = x − μ, entries split by degree
    shift = torch.eye(4, dtype=torch.float64)
    shift[1:, 0] = mu  # x̃ = shift · [1, u]
    shifted = net.replace(embed=net.embed @ shift)
    dense = shifted.dense()
    mask = degree_mask(4, 4)
    u_tilde = torch.cat([torch.ones(6, 1, dtype=torch.float64), x - mu], 1)
    sym = symmetrise(shifted).dense()
    energy = degree_energy(model, center=mu)
    for d in range(5):
        assert_close(parts[d], contract(dense * (mask == d), u_tilde))
        assert_close(energy[d], ((sym * (mask == d)) ** 2).flatten(1).sum(1))
    assert_close(
        degree_energy(model, symmetric=False)[:, 0],
        torch.stack([((net.dense()[0] * (mask == d)) ** 2).sum() for d in range(5)]),
    )


def test_accuracy_and_variance_by_degree():
    parts = torch.zeros(3, 4, 2, dtype=torch.float64)
    parts[0, :, 0] = 1.0  # degree 0 says class 0 for all
    parts[1, :, 1] = torch.tensor([2.0, 2, 0, 0])  # degree 1 flips the first two to class 1
    labels = torch.tensor([1, 1, 0, 1])
    assert degree_accuracy(parts, labels).tolist() == [0.25, 0.75, 0.75]
    share = variance_share(parts)
    assert share[0] == 0 and share[1] == pytest.approx(1.0) and share[2] == 0


def test_rms_network_is_refused():
    model = random_xnet(3, 3, 4, 2, n_layers=1, norm="rms")
    with pytest.raises(ValueError, match="ratio of polynomials"):
        logit_degrees(model, random_inputs(2, 3))
    with pytest.raises(ValueError, match="ratio of polynomials"):
        degree_energy(model)
    with pytest.raises(TypeError, match="not a polynomial"):
        logit_degrees(torch.nn.Linear(3, 2), random_inputs(2, 3))
    with pytest.raises(ValueError, match="center must have 3"):
        logit_degrees(
            random_xnet(3, 3, 4, 2, n_layers=1), random_inputs(2, 3), center=torch.ones(4)
        )


def test_degree_lines_print_the_measured_numbers():
    from xnets_lite.course.lines import degree_lines

    parts = torch.zeros(3, 4, 2, dtype=torch.float64)
    parts[0, :, 0] = 1.0
    parts[1, :, 1] = torch.tensor([2.0, 2, 0, 0])
    lines = degree_lines(parts, torch.tensor([1, 1, 0, 1]), label="toy")
    assert "k=0 25.0% / k=1 75.0% / k=2 75.0% (full, k=2: 75.0%)" in lines[0]
    assert "d=1 1.00 / d=2 0.00" in lines[1]
