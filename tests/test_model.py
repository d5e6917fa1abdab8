"""XNet's options: the direct block (the paper's Equation 2), the scalar batch-RMS norm, and
configs that rebuild the same model (old ones included)."""

import pytest
import torch

from helpers import BLOCKS, NORMS, assert_close, random_inputs, random_xnet
from xnets_lite.core.model import (
    BATCH_RMS_EPS,
    BATCH_RMS_MOMENTUM,
    BatchRMSNorm,
    DirectBilinear,
    XNet,
    calibrate_batch_rms,
)
from xnets_lite.core.network import to_network
from xnets_lite.training.checkpoint import load_checkpoint, save_checkpoint
from xnets_lite.training.kinds import build_model


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_direct_xnet_has_the_parameter_count_of_the_reproduction():
    # J0YY/x-vla, athena/dooms_svhn_reproduction.py: EXPECTED_PARAMETER_COUNT = 659_722 for
    # 1024 inputs, width 256, 3 direct layers, 10 classes; its norm has no parameters.
    for norm in (None, "batch-rms"):
        model = XNet(1024, 256, n_classes=10, n_layers=3, norm=norm, block="direct")
        assert n_params(model) == 659_722
        assert model.config["d_hidden"] == 256
    # embedding 1024·256 + 256, 3 × (A, B with biases), head 256·10 + 10
    assert 1024 * 256 + 256 + 3 * 2 * (256 * 256 + 256) + 256 * 10 + 10 == 659_722


def test_direct_block_is_the_bare_product_without_residual():
    model = random_xnet(5, 4, None, 3, n_layers=2, block="direct", seed=1)
    x = random_inputs(7, 5)
    h = model.embed(x)
    for block in model.blocks:
        assert isinstance(block, DirectBilinear)
        a, b = block.left, block.right
        h = (h @ a.weight.T + a.bias) * (h @ b.weight.T + b.bias)
    assert_close(model(x).detach(), model.head(h).detach(), 1e-14)


def test_direct_block_initialisation_keeps_the_scale():
    torch.manual_seed(0)
    block = DirectBilinear(256)
    assert not block.left.bias.any() and not block.right.bias.any()
    assert block.left.weight.detach().std().item() == pytest.approx(256**-0.5, rel=0.02)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(d_model=8, d_hidden=6, block="direct"), r"d_hidden=6 cannot apply.*d_hidden=8"),
        (dict(block="dense"), "block must be one of"),
        (dict(norm="batchnorm"), "norm must be one of"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        XNet(5, **kwargs)


def test_d_hidden_defaults():
    assert XNet(5, 16).config["d_hidden"] == 128  # as before `block`
    assert XNet(5, 16, block="direct").config["d_hidden"] == 16
    assert XNet(5, 16, 16, block="direct").config["d_hidden"] == 16


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("norm", NORMS)
def test_config_rebuilds_the_same_model(norm, block):
    model = random_xnet(5, 4, 6, 3, n_layers=2, norm=norm, block=block, seed=3)
    assert set(model.config) == {
        "d_input",
        "d_model",
        "d_hidden",
        "n_classes",
        "n_layers",
        "norm",
        "block",
    }
    again = build_model(model.config).double()
    again.load_state_dict(model.state_dict())
    again.eval()
    x = random_inputs(6, 5)
    assert_close(again(x).detach(), model(x).detach(), 0)


def test_old_configs_without_block_still_load():
    old = dict(kind="xnet", d_input=5, d_model=4, d_hidden=6, n_classes=3, n_layers=2, norm=None)
    model = build_model(old)
    assert model.block == "residual" and model.config["d_hidden"] == 6
    assert model.config == {**{k: v for k, v in old.items() if k != "kind"}, "block": "residual"}


def test_batch_rms_trains_on_the_batch_and_keeps_a_running_value():
    norm = BatchRMSNorm()
    assert (norm.momentum, norm.eps) == (BATCH_RMS_MOMENTUM, BATCH_RMS_EPS) == (0.99, 1e-6)
    x1 = torch.randn(32, 8, dtype=torch.float64) * 3
    x2 = torch.randn(32, 8, dtype=torch.float64) * 0.5
    norm.double().train()
    rms1 = x1.pow(2).mean().sqrt()
    assert_close(norm(x1), x1 / (rms1 + 1e-6), 1e-14)  # divides by the batch's RMS
    assert float(norm.running_rms) == pytest.approx(float(rms1))  # the first batch sets it
    rms2 = x2.pow(2).mean().sqrt()
    assert_close(norm(x2), x2 / (rms2 + 1e-6), 1e-14)
    expected = 0.99 * rms1 + 0.01 * rms2  # then an EMA
    assert float(norm.running_rms) == pytest.approx(float(expected), rel=1e-12)
    norm.eval()
    before = norm.running_rms.clone()
    assert_close(norm(x1), x1 / (expected + 1e-6), 1e-14)  # eval: the frozen value
    assert torch.equal(norm.running_rms, before)  # and no update


def test_batch_rms_gradient_flows_through_the_batch_statistic():
    norm = BatchRMSNorm().train()
    x = torch.randn(4, 3, requires_grad=True)
    norm(x).pow(2).sum().backward()  # = numel · mean(x²) / (rms + ε)² ≈ numel: gradient ≈ 0
    assert float(x.grad.abs().max()) < 1e-4


def test_batch_rms_model_updates_its_buffers_only_in_train_mode():
    model = XNet(5, 4, 6, 3, n_layers=2, norm="batch-rms")
    x = torch.randn(16, 5)
    assert [float(n.running_rms) for n in model.norms] == [1.0, 1.0]
    model.train()
    model(x)
    trained = [n.running_rms.clone() for n in model.norms]
    assert all(bool(n.initialized) for n in model.norms)
    assert all(float(t) != 1.0 for t in trained)
    model.eval()
    model(x * 10)
    assert all(torch.equal(n.running_rms, t) for n, t in zip(model.norms, trained))
    # the buffers are part of the state_dict, so checkpoints keep them
    state = model.state_dict()
    assert torch.equal(state["norms.1.running_rms"], trained[1])
    assert state["norms.0.initialized"].item() is True


def test_batch_rms_survives_a_checkpoint_round_trip(tmp_path):
    model = random_xnet(5, 4, 6, 3, n_layers=2, norm="batch-rms", block="direct", seed=4).float()
    path = save_checkpoint(tmp_path / "x.pt", model, {"dataset": "synthetic"})
    loaded, meta = load_checkpoint(path)
    assert meta["config"]["block"] == "direct" and meta["config"]["norm"] == "batch-rms"
    for a, b in zip(loaded.norms, model.norms):
        assert torch.equal(a.running_rms, b.running_rms) and float(a.running_rms) != 1.0
    x = random_inputs(6, 5).float()
    assert torch.equal(loaded(x), model(x))


@pytest.mark.parametrize("block", BLOCKS)
def test_calibration_sets_each_norm_in_execution_order(block):
    torch.manual_seed(0)
    d_hidden = 6 if block == "residual" else None
    model = XNet(5, 4, d_hidden, 3, n_layers=3, norm="batch-rms", block=block).double().train()
    batches = [torch.randn(8, 5, dtype=torch.float64) * s for s in (1.0, 2.0, 0.5)]
    values = calibrate_batch_rms(model, [(x, None) for x in batches])
    assert model.training  # mode restored
    # by hand: norm l sees its input with norms < l already at their calibrated values
    model.eval().requires_grad_(False)
    hidden = [model.embed(x) for x in batches]
    for norm, block_, value in zip(model.norms, model.blocks, values):
        expected = torch.stack([h.pow(2).mean().sqrt() for h in hidden]).mean()
        assert value == pytest.approx(float(expected), rel=1e-12)
        assert float(norm.running_rms) == value
        hidden = [(h if block == "residual" else 0) + block_(norm(h)) for h in hidden]
    with pytest.raises(ValueError, match="norm='batch-rms'"):
        calibrate_batch_rms(XNet(5, 4, 6, 3, n_layers=1), batches)
    with pytest.raises(ValueError, match="no batches"):
        calibrate_batch_rms(model, [])


def test_calibrated_model_is_still_an_exact_tree():
    torch.manual_seed(1)
    model = XNet(5, 4, None, 3, n_layers=3, norm="batch-rms", block="direct").double()
    calibrate_batch_rms(model, [torch.randn(16, 5, dtype=torch.float64) for _ in range(3)])
    model.eval()
    x = random_inputs(10, 5)
    net = to_network(model)
    assert_close(net(x), model(x).detach())
    assert_close(net.homogeneous(x)[:, 0], torch.ones(10, dtype=torch.float64), 1e-12)


def test_model_kinds_are_spelled_once():
    """Every kind builds what its options say, with d_model = d_hidden = width; the stored
    config names the architecture, and build_model rebuilds it."""
    from xnets_lite.training.kinds import (
        ARCHITECTURES,
        MODEL_KINDS,
        build_model,
        make_model,
        model_config,
    )

    for name, spec in MODEL_KINDS.items():
        torch.manual_seed(0)
        model = make_model(name, d_input=12, width=6, n_classes=3, n_layers=2)
        assert type(model) is ARCHITECTURES[spec.architecture]
        for key, value in spec.options.items():
            assert model.config[key] == value, (name, key)
        assert model.config["d_model"] == model.config["d_hidden"] == 6
        config = model_config(model)
        assert config["kind"] == spec.architecture
        torch.manual_seed(0)
        again = build_model(config)
        for a, b in zip(model.state_dict().values(), again.state_dict().values()):
            assert torch.equal(a, b)
    assert make_model("xnet-direct", 12, 6, 3, 1, norm=None).norm is None
    with pytest.raises(ValueError, match="unknown model kind 'cnn'"):
        make_model("cnn", 12, 6, 3, 1)


@pytest.mark.parametrize("kind", ["xnet", "xnet-direct", "xnet-rms", "mlp"])
def test_width_for_parameters_is_the_closest_width(kind):
    """Checked exactly against num_parameters(make_model(...)) of every width up to 40: the
    returned width's count is the closest to the target, ties to the narrower."""
    from xnets_lite.core.model import num_parameters
    from xnets_lite.training.kinds import make_model, width_for_parameters

    counts = {
        w: num_parameters(make_model(kind, d_input=784, width=w, n_classes=10, n_layers=3))
        for w in range(1, 41)
    }
    for target in (1, 500, counts[7], counts[7] + 1, 7_850, 8_379, 15_554, 21_335, counts[40]):
        width = width_for_parameters(kind, target, n_layers=3, d_input=784, n_classes=10)
        best = min(counts, key=lambda w: (abs(counts[w] - target), w))
        assert width == best, (kind, target, width, best)
    mid = (counts[9] + counts[10]) // 2  # a tie between two widths goes to the narrower
    if counts[10] - mid == mid - counts[9]:
        assert width_for_parameters(kind, mid, 3, 784, 10) == 9
    assert width_for_parameters(kind, counts[20], n_layers=3, d_input=784, n_classes=10) == 20


def test_width_for_parameters_of_the_course_models():
    from xnets_lite.core.model import XNet, num_parameters
    from xnets_lite.training.kinds import width_for_parameters

    target = num_parameters(XNet(784, 128, 128, 10, 3))  # the course's χ-net: 250,378
    assert width_for_parameters("xnet", target, 3, 784, 10) == 128
    assert width_for_parameters("mlp", target, 3, 784, 10) == 148  # notebook 01's mlp-wide
    # no layers: 785w + 10w + 10 parameters, 7,960 at width 10 and 8,755 at width 11
    assert width_for_parameters("xnet", 8_379, 0, 784, 10) == 11
    with pytest.raises(ValueError, match="positive count"):
        width_for_parameters("xnet", 0, 3, 784, 10)
    with pytest.raises(ValueError, match="unknown model kind"):
        width_for_parameters("cnn", 100, 3, 784, 10)


def test_num_parameters_counts_what_is_trained():
    from xnets_lite.core.model import num_parameters

    model = XNet(5, 4, 3, 2, n_layers=1, norm="batch-rms")  # buffers are not parameters
    assert num_parameters(model) == (5 * 4 + 4) + 2 * (4 * 3 + 3) + (3 * 4 + 4) + (4 * 2 + 2)
