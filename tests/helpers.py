"""Small random χ-nets in float64 for exactness tests."""

import torch

from xnets_lite.core.model import XNet
from xnets_lite.course.exercises.core import random_xnet as exercise_random_xnet

# (d_input, d_model, d_hidden, n_classes): d_hidden ≠ d_model on purpose in most
SHAPES = [(6, 4, 5, 3), (5, 6, 3, 4), (8, 5, 5, 2)]
NORMS = [None, "rms", "batch-rms"]
BLOCKS = ["residual", "direct"]
# (norm, n_layers, d_input): models small enough for the dense network tensor, (d+1)^(2^L)
# (an RMS block counts twice: two bilinear layers)
DENSE_CASES = [
    (None, 1, 3),
    (None, 2, 2),
    (None, 3, 2),
    (None, 4, 1),
    ("rms", 1, 2),
    ("rms", 2, 1),
    ("batch-rms", 1, 3),
    ("batch-rms", 2, 2),
    ("batch-rms", 3, 1),
]


def random_xnet(
    d_input=6,
    d_model=4,
    d_hidden=5,
    n_classes=3,
    n_layers=2,
    norm=None,
    seed=0,
    std=0.5,
    block="residual",
) -> XNet:
    """An XNet with O(1) random weights (biases included), in float64, in eval mode.

    ``block="direct"`` ignores ``d_hidden`` (a direct block has d_model products). With
    ``norm="batch-rms"`` every norm gets a random running RMS in [0.5, 1.5], so that folding
    it is tested with a scale ≠ 1."""
    return exercise_random_xnet(
        seed, d_input, d_model, d_hidden, n_classes, n_layers, block=block, norm=norm, std=std
    )


def random_inputs(n, d_input, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, d_input, generator=generator, dtype=torch.float64)


def assert_close(a, b, tol=1e-10):
    """Equal up to ``tol`` relative to the size of ``b``."""
    scale = max(1.0, float(b.abs().max()))
    err = float((a - b).abs().max())
    assert err <= tol * scale, f"max error {err:.3g} > {tol:g} × {scale:.3g}"


def contract(dense, x_tilde):
    """Contract every input copy of a dense network tensor (C, P, …, P) with x̃ (B, P)."""
    out = torch.einsum("c...i,bi->bc...", dense, x_tilde)
    while out.dim() > 2:
        out = torch.einsum("bc...i,bi->bc...", out, x_tilde)
    return out
