"""Notebook 06's printed lines (course.similarity_lines): each shows its reading's own numbers,
in the form the chapter printed inline before its code moved into the package."""

import torch

from helpers import random_xnet
from xnets_lite.analysis.similarity import weight_similarity
from xnets_lite.core.network import to_network
from xnets_lite.course import similarity_lines as sl


def test_check_lines():
    assert sl.cross_gram_check_line(torch.Size([4, 5]), torch.tensor(3e-16), 1.25e-15) == (
        "wire 1 cross-Gram, (4, 5): recursion vs explicit tensors, relative error 3.0e-16 in "
        "total, 1.2e-15 per degree (float64)"
    )
    assert sl.dense_check_line(2, 3, (5, 2), 2e-16, 0.12345) == (
        "2 layer(s), input 3: 5 degrees × 2 classes, relative error 2.0e-16; cosine +0.1235"
    )
    assert sl.invariance_line("ODT basis", 4e-15) == (
        "tiny pair, ODT basis                  relative change per degree and class: 4.0e-15"
    )
    net = to_network(random_xnet(3, 4, 5, 2, 2))
    line = sl.self_similarity_line("xnet", weight_similarity(net, net))
    assert line.startswith("xnet against itself in ODT's basis: cosine 1 ")
    assert "per degree max |cos − 1| " in line


def test_summary_energy_untrained_and_wire_lines():
    table = {"weights, all degrees": ({"residual seeds": 0.8981, "direct seeds": -0.5}, 0.307)}
    se = torch.zeros(2, 2, 3, dtype=torch.float64)
    se[0, 1, -1] = 0.0049
    lines = sl.summary_lines(table, 4000, se)
    assert lines == [
        "mean cosine between different models (pairs i ≠ j):",
        "weights, all degrees               residual seeds +0.898  direct seeds -0.500  "
        "residual×direct +0.307",
        "Monte Carlo: 4,000 draws; largest jackknife SE of a total cosine 0.005",
    ]
    share = torch.tensor([0.32, 0.55, 0.1, 0.02, 0.01])
    assert sl.energy_line("residual seeds", share) == (
        "residual seeds: share of ‖T‖² by degree 0 / 1 / 2 / ≥3: 0.320 / 0.550 / 0.100 / "
        "0.030 (mean over seeds)"
    )
    assert sl.untrained_line("xnet", dict(weights=0.128, data=0.073, published=0.011)) == (
        "baseline, two untrained xnet models: weights +0.128  data +0.073  published +0.011"
    )
    assert sl.wire_space_line(torch.tensor([0.5, 0.25]), 64, 785) == (
        "residual seeds, wire spaces (projector cosine, mean over pairs), w0…wL: 0.500 0.250; "
        "two random subspaces of rank 64 in the 785 input coordinates (wire 0's baseline): 0.082"
    )


def test_drift_gap_and_depth_lines():
    one = dict(depth=1, published=2.0, mc=2.0, mc_se=0.01, ratio=1.0, agrees=True, exact=2.0)
    assert sl.drift_line(one) == (
        "1 layer(s): published E‖f‖² 2, Monte Carlo 2 ± 0.01 → ratio 1.000, agrees (10% "
        "criterion); closed form 2, |published − closed form| / closed form 0.0e+00"
    )
    three = dict(depth=3, published=0.777, mc=1.0, mc_se=0.02, ratio=0.777, agrees=False)
    assert sl.drift_line(three) == (
        "3 layer(s): published E‖f‖² 0.777, Monte Carlo 1 ± 0.02 → ratio 0.777, drifts (10% "
        "criterion)"
    )
    assert sl.gap_line("direct", 3, [0.01, -0.2], [1.0, -4.0]) == (
        "direct seeds, 3 layers: published cosine − Monte Carlo cosine, per pair: "
        "+0.010 (+1.0 SE), -0.200 (-4.0 SE)"
    )
    cos = torch.zeros(2, 2, 4)
    cos[0, 1] = torch.tensor([0.0, 0.985, 0.5, 0.937])
    assert sl.depth_lines(["1 layer", "2 layers"], cos) == [
        "1 layer vs 2 layers: test logits +0.937; degree 1 +0.985, degree 2 +0.500"
    ]


def test_carryover_and_direction_lines():
    assert sl.span_baseline_line(784) == (
        "mean over classes and pairs of seeds; random 3-spans: 0.0038, random lines: 0.0013"
    )
    lines = sl.carryover_lines("xnet", 0.981, {"template": (0.816, 0.905), "Q": (0.1, 0.2)})
    assert lines == [
        "\nxnet: function (data cosine, total) 0.981",
        "  template               span similarity 0.816   top vector matched |cos| 0.905   "
        "→ carries over",
        "  Q                      span similarity 0.100   top vector matched |cos| 0.200   "
        "→ of the seed",
    ]
    assert sl.random_match_line(15, 65, 785, 0.0971) == (
        "baseline, wire 0: 15 random directions against 65 random orthonormal ones in the 785 "
        "input coordinates, mean best |cos| 0.097"
    )
    line = sl.direction_line("xnet", torch.tensor([0.767, 0.608]), torch.tensor([0.602, 0.415]))
    assert line == (
        "xnet: mean best |cos| per wire w0…w1: 0.767 0.608; squared: 0.602 0.415 → "
        "carries over, partly"
    )


def test_trajectory_lines_show_every_epoch_and_when_each_settles():
    weights = torch.tensor([[1, 0.9, 0.5], [0.9, 1, 0.995], [0.5, 0.995, 1]], dtype=torch.float64)
    data = torch.tensor([[1, 0.9, 0.992], [0.9, 1, 0.999], [0.992, 0.999, 1]])
    lines = sl.trajectory_lines("xnet", 0.0, [0.9, 0.95, 0.975], weights, data)
    assert lines[0] == "3 epochs; last snapshot vs the checkpointed xnet: max |Δweight| 0.0e+00"
    assert lines[1] == (
        "epoch  1: test accuracy 90.00%; cosine with the final model: weights 0.5000, "
        "test logits 0.9920"
    )
    assert len(lines) == 5
    assert lines[-1] == (
        "the function settles at epoch 1, the weights at epoch 2 (0.99 criterion): "
        "the function first"
    )
