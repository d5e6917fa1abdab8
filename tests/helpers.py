"""Small random χ-nets in float64 for exactness tests."""

import torch

from xnets_lite.core.model import XNet
from xnets_lite.course.exercises.core import random_xnet as exercise_random_xnet
from xnets_lite.data import Dataset

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


# ---------------------------------------------------------------------------------------
# A hand-built χ-net whose readings are known (tests of validation and its controls)
# ---------------------------------------------------------------------------------------
SIDE = 4  # 4×4 images, 16 pixels
D = SIDE * SIDE


def block_direction(first: int) -> torch.Tensor:
    """Unit vector on pixels first … first+3 (value ½ each)."""
    v = torch.zeros(D, dtype=torch.float64)
    v[first : first + 4] = 0.5
    return v


V, U1, U2 = block_direction(0), block_direction(4), block_direction(8)


def hand_built() -> XNet:
    """A one-layer χ-net where class 0 depends on the pixel direction V only:

        logit_0 = (V·x)² − 1,   logit_1 = U1·x,   logit_2 = U2·x.

    The embedding writes V·x, 0, U1·x, U2·x on the stream; the block squares coordinate 0
    into coordinate 1 (one product, L = R = e₀ᵀ, D = e₁); the head reads 1, 2, 3."""
    model = XNet(D, d_model=4, d_hidden=1, n_classes=3, n_layers=1).double()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.embed.weight[0], model.embed.weight[2], model.embed.weight[3] = V, U1, U2
        block = model.blocks[0]
        block.left.weight[0, 0] = block.right.weight[0, 0] = 1
        block.down.weight[1, 0] = 1
        model.head.weight[0, 1] = model.head.weight[1, 2] = model.head.weight[2, 3] = 1
        model.head.bias[0] = -1
    return model.eval()


def toy_data(per_class: int = 20, seed: int = 0) -> Dataset:
    """Class c lights the four pixels of its block fully (V·x = 2 for class 0, …); pixels
    12–15, which no logit reads, are random."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.zeros(3 * per_class, D, dtype=torch.uint8)
    labels = torch.arange(3).repeat_interleave(per_class)
    for c in range(3):
        images[labels == c, 4 * c : 4 * c + 4] = 255
    images[:, 12:] = torch.randint(0, 256, (3 * per_class, 4), generator=gen, dtype=torch.uint8)
    return Dataset(images.reshape(-1, SIDE, SIDE), labels, "toy", "test", n_classes=3)
