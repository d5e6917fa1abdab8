"""Small random χ-nets in float64 for exactness tests."""

import torch

from xnets_lite.model import XNet

# (d_input, d_model, d_hidden, n_classes): d_hidden ≠ d_model on purpose in most
SHAPES = [(6, 4, 5, 3), (5, 6, 3, 4), (8, 5, 5, 2)]
NORMS = [None, "rms", "batch-rms"]
BLOCKS = ["residual", "direct"]


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
    gen = torch.Generator().manual_seed(seed)
    model = XNet(
        d_input,
        d_model,
        d_hidden if block == "residual" else None,
        n_classes,
        n_layers,
        norm=norm,
        block=block,
    ).double()
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p.shape[-1] if p.dim() > 1 else 1
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * std / fan_in**0.25)
        if norm == "batch-rms":
            for n in model.norms:
                n.running_rms.copy_(0.5 + torch.rand((), generator=gen, dtype=torch.float64))
                n.initialized.fill_(True)
    return model.eval()


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
