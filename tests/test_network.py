"""The tensor-network form equals the model: exact in float64, both norm settings."""
import pytest
import torch

from helpers import SHAPES, assert_close, contract, random_inputs, random_xnet
from xnets_lite.model import MLP
from xnets_lite.network import BilinearLayer, Network, symmetrise, to_network


@pytest.mark.parametrize("norm", [None, "rms"])
@pytest.mark.parametrize("n_layers", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", SHAPES)
def test_network_equals_model(shape, n_layers, norm):
    model = random_xnet(*shape, n_layers=n_layers, norm=norm, seed=n_layers)
    x = random_inputs(16, shape[0])
    net = to_network(model)
    logits = model(x).detach()
    assert_close(net(x), logits)
    assert torch.equal(net(x).argmax(-1), logits.argmax(-1))
    # the homogeneous output is the logits times a positive per-sample scale
    out = net.homogeneous(x)
    assert (out[:, 0] > 0).all()
    if norm is None:
        assert_close(out[:, 0], torch.ones(16, dtype=out.dtype), 1e-12)
        assert len(net.layers) == n_layers
    else:
        assert len(net.layers) == 2 * n_layers   # norm layer + block layer
    # every wire keeps its constant coordinate first
    assert all(w == shape[1] + 1 or w == shape[1] + 2 for w in net.widths)


@pytest.mark.parametrize("norm", [None, "rms"])
@pytest.mark.parametrize("n_layers", [1, 3])
def test_symmetrise_is_exact(n_layers, norm):
    model = random_xnet(5, 4, 6, 3, n_layers=n_layers, norm=norm)
    x = random_inputs(10, 5)
    sym = symmetrise(to_network(model))
    assert all(layer.is_symmetric for layer in sym.layers)
    assert_close(sym(x), model(x).detach())


@pytest.mark.parametrize("norm,n_layers,d_input", [(None, 1, 3), (None, 2, 2), (None, 3, 2),
                                                    (None, 4, 1), ("rms", 1, 2), ("rms", 2, 1)])
def test_dense_tensor_contracts_to_the_output(norm, n_layers, d_input):
    model = random_xnet(d_input, 3, 2, 2, n_layers=n_layers, norm=norm, seed=7)
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
