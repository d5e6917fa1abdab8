"""Input units folded into the embedding: exact logits, energies that scale as r^(2k), the
one-layer derivation of the class Gram, and readings that move with the units."""

import pytest
import torch
from test_degrees import hand_built

from helpers import assert_close, random_inputs, random_xnet
from xnets_lite.analysis.degrees import degree_energy
from xnets_lite.analysis.interpret import class_eigenvectors, input_grams
from xnets_lite.analysis.units import (
    Units,
    degree_energies,
    energy_shares,
    one_layer_pixel_gram,
    standard_units,
    unit_readings,
)
from xnets_lite.core.network import BilinearLayer, Network
from xnets_lite.core.odt import odt


@pytest.mark.parametrize("block", ["residual", "direct"])
@pytest.mark.parametrize("norm", [None, "batch-rms"])
def test_fold_gives_identical_logits_in_float64(block, norm):
    model = random_xnet(5, 4, 5, 3, n_layers=2, norm=norm, block=block, seed=2)
    x = random_inputs(9, 5, seed=3)
    with torch.no_grad():
        want = model(x).double()
    for units in (Units(1.0), Units(0.3), Units(9.3), Units(3.0, constant=2.0)):
        assert_close(units.fold(model)(units.convert(x)), want, 1e-12)


def test_hand_built_energy_scales_as_r_to_the_2k():
    # logit = 3 + 2x₁ − x₂ + 5x₁x₂ + 7x₁²x₂: in units x' = x/r the coefficients are
    # 3, 2r, −r, 5r², 7r³, so the energies per degree are 9, 5r², 25r⁴, 49r⁶.
    r = 2.5
    e = degree_energy(Units(r).fold(hand_built()), symmetric=False)[:, 0]
    want = torch.tensor([9.0, 5 * r**2, 25 * r**4, 49 * r**6, 0.0], dtype=torch.float64)
    assert_close(e, want, 1e-9)
    # and degree_energies gives the same from one computation (symmetrised tree)
    many = degree_energies(hand_built(), [1.0, r])
    assert_close(many[1], degree_energy(Units(r).fold(hand_built())), 1e-9)
    k = torch.arange(5, dtype=torch.float64)
    assert_close(many[1], many[0] * (r ** (2 * k))[:, None], 1e-9)


def test_degree_energies_match_a_fold_on_random_nets():
    model = random_xnet(4, 3, 4, 2, n_layers=2, seed=4, block="direct")
    ratios = [0.3, 1.0, 4.0]
    many = degree_energies(model, ratios)
    for i, r in enumerate(ratios):
        assert_close(many[i], degree_energy(Units(r).fold(model)), 1e-9)
    shares = energy_shares(many)
    assert_close(shares.sum(-1), torch.ones(3, dtype=torch.float64), 1e-12)
    # larger units move the energy to higher degrees
    mean_degree = (shares * torch.arange(shares.shape[1])).sum(-1)
    assert mean_degree[0] < mean_degree[1] < mean_degree[2]


def test_constant_weight_only_enters_through_the_ratio():
    model = random_xnet(4, 3, 4, 2, n_layers=2, seed=5)
    a = class_eigenvectors(odt(Units(3.0, constant=2.0).fold(model)), k=2, image_shape=(2, 2))
    b = class_eigenvectors(odt(Units(1.5).fold(model)), k=2, image_shape=(2, 2))
    assert_close(a.share, b.share, 1e-10)
    assert_close((a.vectors * b.vectors).sum(-1).abs(), torch.ones(2, 2, dtype=torch.float64))


def one_layer_known() -> Network:
    """logit = 1 + 2·(βᵀx) + xᵀQx on x ∈ R², β = (1, 0), Q = diag(0, 1): one layer whose hidden
    units are 1·1, x₁·1 (twice, for 2βᵀx) and x₂·x₂."""
    e = torch.eye(3, dtype=torch.float64)
    left = torch.stack([e[0], e[1], e[2]])
    right = torch.stack([e[0], e[0], e[2]])
    down = torch.eye(3, dtype=torch.float64)
    head = torch.tensor([[1.0, 0, 0], [1.0, 2.0, 1.0]], dtype=torch.float64)
    return Network(e, [BilinearLayer(left, right, down)], head)


def test_one_layer_pixel_gram_is_template_rank_one_plus_q_squared():
    net = one_layer_known()
    for r in (0.5, 1.0, 3.0):
        rank_one, quad = one_layer_pixel_gram(net, 0, r)
        assert_close(rank_one, torch.tensor([[r**2, 0.0], [0.0, 0.0]], dtype=torch.float64))
        assert_close(quad, torch.tensor([[0.0, 0.0], [0.0, r**4]], dtype=torch.float64))
        # and their sum is the pixel block class_eigenvectors diagonalises
        dec = odt(Units(r).fold(net))
        u = dec.network.head[1:]
        block = input_grams(dec.network, u[:, :, None] * u[:, None, :])[0, 1:, 1:]
        assert_close(block, rank_one + quad, 1e-10)
        # so the top eigenvector is the template (x₁) for r < 1 and Q's (x₂) for r > 1
        v = class_eigenvectors(dec, k=1, image_shape=(1, 2)).vectors[0, 0].abs()
        if r != 1.0:
            assert int(v.argmax()) == (0 if r < 1 else 1)


def test_one_layer_pixel_gram_on_a_random_model():
    model = random_xnet(4, 3, 5, 2, n_layers=1, seed=6, block="direct")
    for r in (0.7, 2.0):
        rank_one, quad = one_layer_pixel_gram(model, 1, r)
        base_one, base_quad = one_layer_pixel_gram(model, 1, 1.0)
        assert_close(rank_one, r**2 * base_one, 1e-10)
        assert_close(quad, r**4 * base_quad, 1e-10)
        dec = odt(Units(r).fold(model))
        u = dec.network.head[2:3]
        block = input_grams(dec.network, u[:, :, None] * u[:, None, :])[0, 1:, 1:]
        assert_close(block, rank_one + quad, 1e-9)
    with pytest.raises(ValueError, match="one bilinear layer"):
        one_layer_pixel_gram(random_xnet(4, 3, 5, 2, n_layers=2), 0)


def test_units_validation_and_standard_units():
    with pytest.raises(ValueError, match="positive finite"):
        Units(0.0)
    with pytest.raises(ValueError, match="positive finite"):
        Units(1.0, constant=-1.0)
    x = torch.rand(50, 16, generator=torch.Generator().manual_seed(0))
    raw, std, norm = standard_units(x)
    assert raw.ratio == 1.0
    assert std.ratio == pytest.approx(float(x.double().std()))
    assert float(norm.convert(x).norm(dim=1).mean()) == pytest.approx(1.0)


def test_unit_readings_keep_the_function_and_move_the_reading():
    model = random_xnet(4, 4, 5, 3, n_layers=2, seed=7)
    x = random_inputs(40, 4, seed=8)
    y = torch.randint(0, 3, (40,), generator=torch.Generator().manual_seed(1))
    small, large = (unit_readings(model, Units(r), x, y, rank=2) for r in (0.1, 10.0))
    assert small["full"] == large["full"]
    share_small, share_large = small["energy_share"], large["energy_share"]
    assert float(share_small[:2].sum()) > float(share_large[:2].sum())
