"""Reading the weights: class eigenvectors, the compositional tree, energy shares, and the
compressed module — each checked against an independent computation."""

import pytest
import torch

from helpers import assert_close, random_inputs, random_xnet
from xnets_lite.analysis.interpret import (
    accuracy_vs_rank,
    class_eigenvectors,
    class_energy_share,
    compositional_tree,
    trace_class,
)
from xnets_lite.core.compress import Factored, Quadratic, to_module
from xnets_lite.core.evaluation import accuracy
from xnets_lite.core.network import symmetrise, to_network
from xnets_lite.core.odt import odt


def overlap(a, b):
    """|cos| between two vectors: eigenvector signs are arbitrary."""
    return float((a @ b).abs() / (a.norm() * b.norm()))


def class_interaction_matrices(model):
    """The single-layer method: for a one-layer network, the symmetrised class interaction
    matrices ``Σ_h (Dᵀu_c)_h l_h r_hᵀ`` in homogeneous input coordinates (C, P, P)."""
    net = to_network(model)
    layer = net.layers[0]
    left, right = layer.left @ net.embed, layer.right @ net.embed
    coeff = net.head[1:] @ layer.down  # (C, h)
    q = torch.einsum("ch,hi,hj->cij", coeff, left, right)
    return (q + q.mT) / 2


def test_one_layer_without_linear_terms_matches_the_single_layer_method():
    # No biases before the products, and a residual stream the head cannot read: every
    # logit is a pure quadratic form xᵀ Q_c x, whose eigenvectors are the classic reading.
    model = random_xnet(9, 4, 6, 3, n_layers=1, seed=2)
    with torch.no_grad():
        model.embed.bias.zero_()
        model.blocks[0].left.bias.zero_()
        model.blocks[0].right.bias.zero_()
        model.embed.weight[2:] = 0  # the input lands on dims 0, 1 ...
        model.head.weight[:, :2] = 0  # ... which the head does not read
    q = class_interaction_matrices(model)[:, 1:, 1:]
    ce = class_eigenvectors(odt(model), k=2)
    for c in range(3):
        evals, evecs = torch.linalg.eigh(q[c])
        order = evals.abs().argsort(descending=True)
        for i in range(2):
            assert overlap(ce.vectors[c, i], evecs[:, order[i]]) == pytest.approx(1, abs=1e-8)
            assert float(ce.values[c, i]) == pytest.approx(float(evals[order[i]] ** 2), rel=1e-8)


def test_one_layer_with_biases_matches_the_homogeneous_interaction_matrix():
    # With biases and the residual, a logit is x̃ᵀ Q_c x̃ over x̃ = [1, x]; the input Gram of
    # one copy is Q_c², whose pixel block the class eigenvectors diagonalise.
    model = random_xnet(9, 4, 6, 3, n_layers=1, seed=3)
    q = class_interaction_matrices(model)
    ce = class_eigenvectors(odt(model), k=3)
    for c in range(3):
        evals, evecs = torch.linalg.eigh((q[c] @ q[c])[1:, 1:])
        for i in range(3):
            assert overlap(ce.vectors[c, i], evecs[:, -1 - i]) == pytest.approx(1, abs=1e-8)
            assert float(ce.values[c, i]) == pytest.approx(float(evals[-1 - i]), rel=1e-8)


@pytest.mark.parametrize("n_layers", [2, 3])
def test_deep_class_eigenvectors_match_the_dense_tensor(n_layers):
    # Brute force: unfold logit c's dense tensor at the first input copy.
    model = random_xnet(4, 3, 4, 2, n_layers=n_layers, seed=n_layers)
    dense = symmetrise(to_network(model)).dense()
    ce = class_eigenvectors(odt(model), k=2, image_shape=(2, 2))
    assert ce.images.shape == (2, 2, 2, 2)
    for c in range(2):
        f = dense[c].reshape(5, -1)
        evals, evecs = torch.linalg.eigh((f @ f.T)[1:, 1:])
        assert overlap(ce.vectors[c, 0], evecs[:, -1]) == pytest.approx(1, abs=1e-8)
        assert float(ce.values[c, 0]) == pytest.approx(float(evals[-1]), rel=1e-8)
        assert float(ce.share[c, 0]) == pytest.approx(float(evals[-1] / evals.sum()), rel=1e-8)
        pixel = float(evals.sum() / (f**2).sum())
        assert float(ce.pixel_share[c]) == pytest.approx(pixel, rel=1e-8)


def test_class_eigenvectors_bad_arguments():
    dec = odt(random_xnet(6, 4, 5, 3, n_layers=2))
    with pytest.raises(ValueError, match="k must be"):
        class_eigenvectors(dec, k=0)
    # 6 inputs: not a square image, so the eigenvectors stay vectors (issue 23)
    assert class_eigenvectors(dec).images.shape == (3, 3, 6)
    assert class_eigenvectors(dec, image_shape=(2, 3)).images.shape == (3, 3, 2, 3)
    with pytest.raises(ValueError, match="has 4 entries"):
        class_eigenvectors(dec, image_shape=(2, 2))


def test_energy_share_is_one_at_full_rank_and_grows_with_rank():
    dec = odt(random_xnet(9, 5, 6, 3, n_layers=3, seed=8))
    full = [w - 1 for w in dec.widths]
    assert_close(class_energy_share(dec, full), torch.ones(3, 4, dtype=torch.float64), 1e-10)
    shares = torch.stack([class_energy_share(dec, k) for k in range(5)])
    assert (shares[1:] >= shares[:-1] - 1e-12).all()
    assert ((shares >= 0) & (shares <= 1 + 1e-12)).all()


def test_compositional_tree_reproduces_the_truncated_network():
    model = random_xnet(9, 5, 6, 3, n_layers=3, seed=6)
    dec = odt(model)
    tree = compositional_tree(dec, rank=3)
    net = dec.truncate(3)
    assert tree.features.shape == (4, 3, 3)
    assert float(tree.features[0].abs().max()) == 0  # the constant direction
    assert [t.shape for t in tree.interactions] == [(4, 4, 4), (4, 4, 4)]
    for t in tree.interactions:
        assert_close(t, t.mT)
    x = random_inputs(7, 9)
    wires = net.wires(x)
    for layer, t in enumerate(tree.interactions):
        assert_close(torch.einsum("oij,bi,bj->bo", t, wires[layer], wires[layer]), wires[layer + 1])
    logits = torch.einsum("cij,bi,bj->bc", tree.class_matrices, wires[-2], wires[-2])
    assert_close(logits / wires[-1][:, :1], net(x))
    steps = trace_class(tree, 1, top=2)
    assert steps[0]["output"] == "class 1" and len(steps[0]["pairs"]) == 2
    assert {s["layer"] for s in steps} <= {0, 1, 2}
    with pytest.raises(ValueError, match="class must be"):
        trace_class(tree, 3)


@pytest.mark.parametrize("norm", [None, "rms"])
def test_compressed_module_computes_the_same_function(norm):
    model = random_xnet(9, 5, 6, 3, n_layers=2, norm=norm, seed=1)
    x = random_inputs(6, 9)
    dec = odt(model)
    assert_close(to_module(dec.network)(x).detach(), model(x).detach())
    cut = dec.truncate(2)
    module = to_module(cut)
    assert_close(module(x).detach(), cut(x))
    assert module.num_parameters() <= cut.num_parameters()
    assert all(isinstance(layer, (Quadratic, Factored)) for layer in module.layers)
    assert any(isinstance(layer, Quadratic) for layer in module.layers)
    with pytest.raises(TypeError, match="Network"):
        to_module(model)


class TinyData:
    """Just enough of ``data.Dataset`` for ``accuracy``: batches, images and labels."""

    def __init__(self, x, y):
        self.x, self.labels = x, y
        self.images = x

    def batches(self, batch_size, device=None):
        for i in range(0, len(self.x), batch_size):
            yield self.x[i : i + batch_size].to(device), self.labels[i : i + batch_size]


def test_accuracy_vs_rank_rows():
    model = random_xnet(9, 5, 6, 3, n_layers=2, seed=4)
    x = random_inputs(50, 9)
    data = TinyData(x, model(x).argmax(-1))
    assert accuracy(model, data) == 1.0
    dec = odt(model)
    rows = accuracy_vs_rank(dec, data, [0, 2, [5, 5, 5]])
    assert [r["rank"] for r in rows] == [0, 2, [5, 5, 5]]
    assert rows[-1]["accuracy"] == 1.0 and rows[-1]["agreement"] == 1.0
    assert rows[0]["parameters"] < rows[-1]["parameters"]


def test_sign_rule_raises_the_logit_on_average():
    # The course's rule (orient): ⟨v, mean gradient⟩ ≥ 0, which is notebook 05's
    # steering_sign in the limit of a small step; without data, the gradient at x = 0.
    from xnets_lite.analysis.interpret import gradient_at_zero, mean_gradient
    from xnets_lite.analysis.validation import steering_sign

    model = random_xnet(4, 3, 4, 2, n_layers=2, seed=6)
    dec = odt(model)
    x = random_inputs(30, 4, seed=7)
    ce = class_eigenvectors(dec, k=2, image_shape=(2, 2), sign_data=x)
    grad = mean_gradient(model, x)
    assert "on average over 30 inputs" in ce.sign
    for c in range(2):
        for i in range(2):
            v = ce.vectors[c, i]
            assert float(v @ grad[c]) >= 0
            assert steering_sign(model, x, v, c, step=1e-4) == 1
    ce0 = class_eigenvectors(dec, k=2, image_shape=(2, 2))
    assert "x = 0" in ce0.sign
    assert (torch.einsum("ckd,cd->ck", ce0.vectors, gradient_at_zero(dec.network)) >= 0).all()
    # the same eigenvectors, only the signs may differ
    assert_close((ce0.vectors * ce.vectors).sum(-1).abs(), torch.ones(2, 2, dtype=torch.float64))


def test_direction_names():
    from xnets_lite.analysis.interpret import direction_name

    assert direction_name(2, 0) == "const" and direction_name(2, 3) == "w2.d3"


def test_template_cosines_and_the_scale_row():
    from xnets_lite.analysis.interpret import (
        gradient_at_zero,
        scale_gram_eigenvector,
        template_cosines,
    )

    # a linear model (no layers): the class Gram's only pixel direction is the template
    model = random_xnet(4, 3, 4, 2, n_layers=0, seed=2)
    dec = odt(model)
    ce = class_eigenvectors(dec, k=1, image_shape=(2, 2))
    cos = template_cosines(ce, gradient_at_zero(dec.network))
    assert_close(cos, torch.ones(2, 1, dtype=torch.float64), 1e-8)
    # the scale row of an RMS χ-net: the top eigenvector of its own Gram, by brute force
    rms = random_xnet(4, 3, 4, 2, n_layers=1, norm="rms", seed=3)
    dec = odt(rms)
    v = scale_gram_eigenvector(dec)
    dense = symmetrise(to_network(rms)).dense(include_scale=True)[0].reshape(5, -1)
    evals, evecs = torch.linalg.eigh((dense @ dense.T)[1:, 1:])
    assert overlap(v, evecs[:, -1]) == pytest.approx(1, abs=1e-8)


def test_centred_class_means_row_cosines_and_the_chance_level():
    import math

    from xnets_lite.analysis.interpret import centred_class_means, random_cosines, row_cosines

    x = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 2.0]])
    y = torch.tensor([0, 0, 1, 1])
    means = centred_class_means(x, y, n_classes=3)  # overall mean (1, 1)
    assert_close(means, torch.tensor([[1.0, -1.0], [-1.0, 1.0], [0.0, 0.0]], dtype=torch.float64))
    a = torch.tensor([[1.0, 0.0], [2.0, 2.0], [0.0, 0.0]])
    b = torch.tensor([[-3.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    assert_close(row_cosines(a, b), torch.tensor([1.0, 1 / math.sqrt(2), 0.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="one shape"):
        row_cosines(a, b[:2])
    chance = random_cosines(784, n=20_000, seed=0)
    assert chance.shape == (20_000,) and float(chance.max()) <= 1
    assert float(chance.mean()) == pytest.approx(math.sqrt(2 / (math.pi * 784)), rel=0.03)
    assert torch.equal(chance, random_cosines(784, n=20_000, seed=0))  # seeded: one level


@pytest.mark.parametrize("norm", [None, "batch-rms", "rms"])
def test_the_template_at_zero_is_the_gradient_for_every_norm(norm):
    """``gradient_at_zero``: the exact degree-1 Taylor term where the logits are polynomials,
    autograd for the per-sample RMS χ-net (a ratio of polynomials); both equal the gradient
    at 0, and the RMS χ-net's class eigenvectors (05) can be signed by it."""
    from xnets_lite.analysis.interpret import gradient_at_zero, mean_gradient
    from xnets_lite.core.model import XNet

    torch.manual_seed(0)
    model = XNet(16, 8, 8, 3, 2, norm=norm).double().eval()
    net = odt(model).network
    zero = torch.zeros(1, 16, dtype=torch.float64)
    assert torch.allclose(gradient_at_zero(net), mean_gradient(net, zero), atol=1e-12)
    assert class_eigenvectors(odt(model), 2, (4, 4)).vectors.shape == (3, 2, 16)
