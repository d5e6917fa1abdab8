"""The import check: does a ``Network`` compute a module's logits? And if not, why not?

Used by ``importing.from_module`` and ``network.from_factors(..., check=module)``: the
network and a float64 copy of the module (eval mode, CPU) run on sample inputs; a difference
above the tolerance raises ``ImportCheckError`` with the largest difference and its likely
cause, found by three tests in turn: is the module a polynomial of the network's degree at
all (a finite difference of that order vanishes only for one: else a nonlinearity)? does the
network with the other residual flag match (a wrong flag)? do the outputs differ already at
x = 0, where only biases act (a missing bias)? Otherwise a weight is in the wrong role.

Only torch here (the network is used through its methods), so that ``network`` can import it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn

#: Default number of sample inputs of the import check, and its relative tolerance.
CHECK_INPUTS = 64
CHECK_TOL = 1e-6


class ImportCheckError(ValueError):
    """The network does not compute the module's outputs (the message says by how much and
    why it probably does not)."""


# ---------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------
def _outputs(out) -> Tensor:
    """The logits of a module's output: a tensor, the first of a tuple ((logits, loss)), the
    ``logits`` of a dict or an object."""
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        return out[0]
    if isinstance(out, Mapping) and isinstance(out.get("logits"), Tensor):
        return out["logits"]
    if isinstance(getattr(out, "logits", None), Tensor):
        return out.logits
    raise TypeError(
        f"the module returned a {type(out).__name__}; expected the logits (a tensor, or a "
        f"tuple whose first entry or a dict/object whose 'logits' is the logits)"
    )


def _float64(module: nn.Module) -> nn.Module:
    """A float64 copy of ``module`` in eval mode on the CPU (the module itself is untouched)."""
    return copy.deepcopy(module).to(device="cpu", dtype=torch.float64).eval()


def sample_inputs(d_input: int, n: int = CHECK_INPUTS, seed: int = 0) -> Tensor:
    """(n, d_input) float64 standard normal inputs, reproducible (``seed``)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, d_input, generator=gen, dtype=torch.float64)


def _run(module: nn.Module, x: Tensor) -> Tensor:
    try:
        with torch.no_grad():
            return _outputs(module(x))
    except (RuntimeError, ValueError, TypeError) as err:
        raise ValueError(
            f"calling the module on sample inputs of shape {tuple(x.shape)} failed ({err}); "
            f"pass inputs= (a batch the module accepts, e.g. a few of your images)"
        ) from err


def _polynomial_residue(module: nn.Module, x: Tensor, degree: int) -> float:
    """How far ``module`` is from a polynomial of ``degree``: the largest (degree+1)-th
    finite difference along a few lines through the sample inputs, relative to the outputs'
    size (about 1e-12 for a polynomial in float64, order 1 for a ReLU crossing a kink).

    The lines join pairs of inputs, and each of the first inputs to its negative: between
    two images alike (all bright, say) a ReLU's pre-activations may keep their signs, so no
    kink lies on the line; from x to −x every unit whose input term outweighs its bias
    changes sign."""
    n = degree + 1
    worst = 0.0
    segments = list(zip(x[:4], x[4:8]))[:4] + [(a, -a) for a in x[:4]]
    with torch.no_grad():
        for a, b in segments:
            ts = torch.arange(n + 1, dtype=torch.float64) / n
            pts = a + ts[:, None] * (b - a)
            f = _run(module, pts.reshape(n + 1, *x.shape[1:]))
            coef = torch.tensor(
                [(-1) ** k * math.comb(n, k) for k in range(n + 1)], dtype=torch.float64
            )
            diff = (coef[:, None] * f.reshape(n + 1, -1)).sum(0).abs().max()
            scale = f.abs().max().clamp_min(1e-300) * 2**n
            worst = max(worst, float(diff / scale))
    return worst


def check_network(
    net,
    module: nn.Module,
    inputs: Tensor | None = None,
    *,
    tol: float = CHECK_TOL,
    alternative: Callable | None = None,
    what: str = "from_module",
) -> dict:
    """Check that ``net`` computes ``module``'s logits, in float64 on sample inputs.

    Args:
        net: the imported network.
        module: the model it came from (copied to float64, eval mode, CPU; left unchanged).
        inputs: a batch the module accepts (default: ``CHECK_INPUTS`` standard normal vectors
            of ``net.d_input`` entries).
        tol: the largest accepted difference, relative to ``max(1, max |logit|)``.
        alternative: builds the network with the other residual flag (for the diagnosis).
        what: the caller's name, for the message.

    Returns:
        ``{"max_abs_diff", "tolerance", "n_inputs"}`` (also stored in ``net.meta["check"]``).

    Raises:
        ImportCheckError: the difference is larger than the tolerance; the message gives it
            and the likely cause.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"{what}: check must be the module the factors came from (an nn.Module), or a "
            f"(module, inputs) pair; got {type(module).__name__}"
        )
    ref = _float64(module)
    x = sample_inputs(net.d_input) if inputs is None else torch.as_tensor(inputs).cpu().double()
    net64 = net.to(device="cpu", dtype=torch.float64)
    want = _run(ref, x)
    got = net64(x)
    if got.shape != want.reshape(got.shape[0], -1).shape:
        raise ImportCheckError(
            f"{what}: the module returns outputs of shape {tuple(want.shape)}, the network "
            f"{tuple(got.shape)}: the head (head_weight, (n_classes, d_L)) is not the module's "
            f"last linear map"
        )
    want = want.reshape(got.shape)
    diff = float((got - want).abs().max())
    bound = tol * max(1.0, float(want.abs().max()))
    report = dict(max_abs_diff=diff, tolerance=bound, n_inputs=len(x))
    if diff <= bound:
        net.meta["check"] = report
        return report
    raise ImportCheckError(
        f"{what}: the network does not compute the module: its logits differ by up to "
        f"{diff:.3g} on {len(x)} sample inputs (float64; tolerance {bound:.2g}). Likely cause: "
        f"{_diagnose(net64, ref, x, bound, alternative)}"
    )


def _diagnose(net, ref, x, bound, alternative) -> str:
    n_layers = len(net.layers)
    if net.meta.get("norm") != "rms" and net.n_copies <= 64 and len(x) >= 8:
        residue = _polynomial_residue(ref, x, net.n_copies)
        if residue > 1e-7:
            return (
                f"a nonlinearity. The module is not a polynomial of degree {net.n_copies} in "
                f"its input (the network's degree: {n_layers} bilinear layer(s)); its "
                f"{net.n_copies + 1}-th finite difference is {residue:.2g} of its size. A "
                f"ReLU/GELU/gate, a per-sample norm or a softmax has no exact tensor-network "
                f"form: remove it, or give a per-sample RMS norm as norms=[('rms', None), ...]."
            )
    if alternative is not None:
        try:
            other = alternative().to(dtype=torch.float64)
        except ValueError:
            other = None
        if other is not None:
            gap = float((other(x) - _run(ref, x).reshape(len(x), -1)).abs().max())
            if gap <= bound:
                flag = other.meta.get("residual")
                return (
                    f"a wrong residual flag: the module matches residual={flag} (difference "
                    f"{gap:.2g}); pass residual={flag} (or leave residual=None to let "
                    f"from_module find it)."
                )
    zero = torch.zeros_like(x[:1])
    at_zero = float((net(zero) - _run(ref, zero).reshape(1, -1)).abs().max())
    if at_zero > bound:
        return (
            f"a missing bias: the outputs differ already at x = 0 (by {at_zero:.3g}), where only "
            f"the biases act. Give every bias of the model (embed_bias, head_bias, and "
            f"left_bias/right_bias/down_bias per block), or check the residual flags."
        )
    return (
        "a weight in the wrong role: the outputs agree at x = 0 but not elsewhere. Check "
        "that L, R, D of every block, the embedding and the head are the module's matrices "
        "as (out_features, in_features), not transposed, in the order the forward uses them."
    )
