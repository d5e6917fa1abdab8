"""The tensor-network form equals the model: exact in float64, every block and norm."""

import warnings

import pytest
import torch

from helpers import (
    BLOCKS,
    DENSE_CASES,
    NORMS,
    SHAPES,
    assert_close,
    contract,
    random_inputs,
    random_xnet,
)
from xnets_lite.core.model import MLP
from xnets_lite.core.network import (
    BilinearLayer,
    Network,
    from_factors,
    symmetrise,
    to_network,
)


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n_layers", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", SHAPES)
def test_network_equals_model(shape, n_layers, norm, block):
    model = random_xnet(*shape, n_layers=n_layers, norm=norm, seed=n_layers, block=block)
    x = random_inputs(16, shape[0])
    net = to_network(model)
    logits = model(x).detach()
    assert_close(net(x), logits)
    assert torch.equal(net(x).argmax(-1), logits.argmax(-1))
    # the homogeneous output is the logits times a positive per-sample scale
    out = net.homogeneous(x)
    assert (out[:, 0] > 0).all()
    if norm == "rms":
        assert len(net.layers) == 2 * n_layers  # norm layer + block layer
    else:
        # a pure tree: one layer per block, and the constant coordinate of every wire is
        # exactly 1 (for a direct block: the product of the two input constants, 1 · 1)
        assert len(net.layers) == n_layers
        for wire in net.wires(x):
            assert torch.equal(wire[:, 0], torch.ones(16, dtype=wire.dtype))
        assert_close(out[:, 0], torch.ones(16, dtype=out.dtype), 1e-12)
    # every wire keeps its constant coordinate first
    assert all(w == shape[1] + 1 or w == shape[1] + 2 for w in net.widths)
    assert net.meta["block"] == block and net.meta["norm"] == norm


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n_layers", [1, 3])
def test_symmetrise_is_exact(n_layers, norm, block):
    model = random_xnet(5, 4, 6, 3, n_layers=n_layers, norm=norm, block=block)
    x = random_inputs(10, 5)
    sym = symmetrise(to_network(model))
    assert all(layer.is_symmetric for layer in sym.layers)
    assert_close(sym(x), model(x).detach())


def test_direct_block_is_the_bare_product_with_identity_down():
    # x ← (A x + a) ⊙ (B x + b): the network's layer is [Ã; B̃] with D = I, Ã = [[1, 0], [a, A]]
    model = random_xnet(5, 4, None, 3, n_layers=1, block="direct", seed=3)
    block = model.blocks[0]
    layer = to_network(model).layers[0]
    assert torch.equal(layer.down, torch.eye(5, dtype=torch.float64))
    assert torch.equal(layer.left[0], torch.eye(5, dtype=torch.float64)[0])
    assert torch.equal(layer.left[1:, 0], block.left.bias.detach())
    assert torch.equal(layer.right[1:, 1:], block.right.weight.detach())


@pytest.mark.parametrize("block", BLOCKS)
def test_batch_rms_is_folded_into_left_and_right(block):
    # eval mode: n(x) = x / (running_rms + eps), a constant that ends up in L and R's weights
    # only; biases, D and the unnormalised model's other layers are untouched
    model = random_xnet(5, 4, 6, 3, n_layers=2, norm="batch-rms", block=block, seed=2)
    plain = random_xnet(5, 4, 6, 3, n_layers=2, norm=None, block=block, seed=2)
    net, ref = to_network(model), to_network(plain)
    rows = slice(0, 6) if block == "residual" else slice(1, 5)  # the block's own products
    for norm, torch_block, layer, base in zip(model.norms, model.blocks, net.layers, ref.layers):
        scale = float(norm.running_rms) + norm.eps
        for side, factor in ((layer.left, torch_block.left), (layer.right, torch_block.right)):
            assert_close(side[rows, 1:] * scale, factor.weight.detach(), 1e-14)
            assert torch.equal(side[rows, 0], factor.bias.detach())
        assert torch.equal(layer.down, base.down)
    assert torch.equal(net.embed, ref.embed) and torch.equal(net.head, ref.head)


def test_to_network_warns_for_a_batch_rms_model_in_train_mode():
    model = random_xnet(5, 4, 6, 3, n_layers=2, norm="batch-rms")
    x = random_inputs(8, 5)
    net = to_network(model)  # eval mode: silent and exact
    model.train()
    with pytest.warns(UserWarning, match=r"train mode.*model\.eval\(\)"):
        again = to_network(model)
    assert_close(again(x), net(x), 0)  # the same (eval-mode) function either way
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # other norms do not depend on the mode
        to_network(random_xnet(5, 4, 6, 3, n_layers=2).train())


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("norm,n_layers,d_input", DENSE_CASES)
def test_dense_tensor_contracts_to_the_output(norm, n_layers, d_input, block):
    model = random_xnet(d_input, 3, 2, 2, n_layers=n_layers, norm=norm, seed=7, block=block)
    net = to_network(model)
    x = random_inputs(5, d_input)
    dense = net.dense(include_scale=True)
    assert dense.shape == (3,) + (d_input + 1,) * net.n_copies
    out = contract(dense, net.lift(x))
    assert_close(out, net.homogeneous(x))
    assert_close(out[:, 1:] / out[:, :1], model(x).detach())


def test_dense_layer_tensor_matches_factored_form():
    layer = to_network(random_xnet(4, 3, 5, 2, n_layers=1)).layers[0]
    w = random_inputs(6, layer.n_in)
    assert_close(torch.einsum("oij,bi,bj->bo", layer.dense(), w, w), layer(w))


def test_dense_refuses_large_models():
    net = to_network(random_xnet(30, 4, 4, 2, n_layers=3))
    with pytest.raises(ValueError, match="dense tensor would have"):
        net.dense()


def test_baseline_has_no_network_form():
    with pytest.raises(TypeError, match="XNet"):
        to_network(MLP(6, 4, 4, 3, 2))


def test_wrong_input_size_is_a_clear_error():
    net = to_network(random_xnet(6, 4, 5, 3, n_layers=2))
    with pytest.raises(ValueError, match=r"d_input=6"):
        net(torch.zeros(3, 7, dtype=torch.float64))


def test_inconsistent_layers_are_rejected():
    with pytest.raises(ValueError, match="inconsistent bilinear layer"):
        BilinearLayer(torch.zeros(3, 4), torch.zeros(3, 5), torch.zeros(2, 3))
    net = to_network(random_xnet(6, 4, 5, 3, n_layers=1))
    with pytest.raises(ValueError, match="reads a wire of size"):
        Network(net.embed[:3], net.layers, net.head)


def test_images_are_flattened():
    net = to_network(random_xnet(4, 3, 3, 2, n_layers=1))
    x = random_inputs(5, 4)
    assert_close(net(x.reshape(5, 1, 2, 2)), net(x))


def test_batch_rms_fold_of_a_float32_model_is_exact_in_float64():
    """A trained model is float32; its frozen scale running_rms + eps must be formed in
    float64 by to_network, as model.double() does, or the fold is off by float32 rounding."""
    import copy

    from xnets_lite.core.model import XNet
    from xnets_lite.core.network import to_network

    torch.manual_seed(0)
    model = XNet(12, 6, n_classes=3, n_layers=2, block="direct", norm="batch-rms")
    with torch.no_grad():
        for norm in model.norms:
            norm.running_rms.fill_(0.3)  # 0.3 + 1e-6 is not a float32 number
            norm.initialized.fill_(True)
    model.eval()
    x = torch.randn(32, 12, dtype=torch.float64)
    expected = copy.deepcopy(model).double()(x)
    err = (to_network(model)(x) - expected).abs().max() / expected.abs().max()
    assert err < 1e-12, err


# ----------------------------------------------------------------------------- from_factors


def _xnet_factors(model):
    """An XNet's weights as plain tensors, the way a researcher's own model would hand them."""
    blocks = []
    for b in model.blocks:
        f = dict(
            left=b.left.weight, right=b.right.weight, left_bias=b.left.bias, right_bias=b.right.bias
        )
        if model.block == "residual":
            f.update(down=b.down.weight, down_bias=b.down.bias)
        blocks.append(f)
    return dict(
        embed_weight=model.embed.weight,
        embed_bias=model.embed.bias,
        blocks=blocks,
        head_weight=model.head.weight,
        head_bias=model.head.bias,
        residual=model.block == "residual",
    )


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("n_layers", [0, 1, 3])
def test_from_factors_equals_the_model_it_was_read_from(n_layers, block):
    model = random_xnet(6, 4, 5, 3, n_layers=n_layers, block=block, seed=7)
    x = random_inputs(16, 6)
    net = from_factors(**_xnet_factors(model))
    assert_close(net(x), model(x).detach())
    assert net.widths == to_network(model).widths
    assert Network.from_factors(**_xnet_factors(model)).widths == net.widths


def test_from_factors_mixes_residual_and_direct_blocks_and_tuples():
    gen = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)  # noqa: E731
    e, l1, r1, d1, l2, r2, h = r(4, 6), r(5, 4), r(5, 4), r(4, 5), r(3, 4), r(3, 4), r(2, 3)
    b1 = r(4)
    net = from_factors(
        e,
        blocks=[dict(left=l1, right=r1, down=d1, down_bias=b1, residual=True), (l2, r2)],
        head_weight=h,
    )
    x = random_inputs(9, 6)
    w = x @ e.T
    w = w + (w @ l1.T * (w @ r1.T)) @ d1.T + b1
    w = w @ l2.T * (w @ r2.T)
    assert_close(net(x), w @ h.T)


def test_from_factors_says_which_block_does_not_fit():
    e, h = torch.randn(4, 6), torch.randn(2, 4)
    with pytest.raises(ValueError, match="block 0: L and R"):
        from_factors(e, blocks=[(torch.randn(5, 4), torch.randn(5, 3))], head_weight=h)
    with pytest.raises(ValueError, match="block 0: D must be"):
        from_factors(
            e, blocks=[(torch.randn(5, 4), torch.randn(5, 4), torch.randn(4, 3))], head_weight=h
        )
    with pytest.raises(ValueError, match="block 0 is residual"):
        from_factors(
            e,
            blocks=[(torch.randn(5, 4), torch.randn(5, 4), torch.randn(3, 5))],
            head_weight=h,
            residual=True,
        )
    with pytest.raises(ValueError, match="do not chain"):
        from_factors(e, blocks=[(torch.randn(5, 3), torch.randn(5, 3))], head_weight=h)
    with pytest.raises(TypeError, match="block 0 must be"):
        from_factors(e, blocks=[torch.randn(5, 4)], head_weight=h)
    with pytest.raises(ValueError, match="may have"):
        from_factors(
            e, blocks=[dict(left=torch.randn(5, 4), rigth=torch.randn(5, 4))], head_weight=h
        )
    with pytest.raises(TypeError, match="needs head_weight"):
        from_factors(e)
