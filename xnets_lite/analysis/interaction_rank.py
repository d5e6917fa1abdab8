"""How many signed interaction eigenvectors does the degree-2 part need?

Around 0 each logit is ``f_0 + g_cᵀx + xᵀQ_c x + (degrees ≥ 3)`` (``degrees.logit_degrees``,
``interactions.quadratic_forms``). Keep only the top-k eigenvectors of ``Q_c`` by |eigenvalue|
(both signs), ``xᵀQ_c x ≈ Σ_{i≤k} λ_i (v_iᵀx)²``, and measure, on data, for k = 1 … K:

* ``accuracy``: of the degree-≤1 part plus that rank-k degree-2 part;
* ``r2``: the share of the degree-2 part's variance over the inputs (pooled over classes,
  each class's own mean removed) that the rank-k part reproduces, ``1 − SSE / SST``.

At k = d the degree-2 part is exact, so ``accuracy`` reaches the degree-≤2 accuracy and
``r2`` reaches 1.
"""

from __future__ import annotations

import torch
from torch import Tensor

from xnets_lite.analysis.degrees import degree_accuracy, logit_degrees
from xnets_lite.analysis.interactions import quadratic_forms


@torch.no_grad()
def interaction_rank_curve(model, x: Tensor, y: Tensor, k_max: int = 20) -> dict:
    """``{"k", "accuracy", "r2", "degree1", "degree2"}`` for k = 1 … ``k_max`` (around 0).

    ``model``: a norm-free or batch-rms χ-net (or ``Network``); ``x`` (N, d) or images,
    ``y`` (N,) labels."""
    parts = logit_degrees(model, x)  # (D, N, C)
    q = quadratic_forms(model)  # (C, d, d)
    d = q.shape[-1]
    if not 1 <= k_max <= d:
        raise ValueError(f"k_max must be between 1 and {d} (the input size), got {k_max}")
    evals, evecs = torch.linalg.eigh(q)  # ascending, per class
    order = evals.abs().argsort(dim=-1, descending=True)[:, :k_max]  # (C, K)
    lam = torch.gather(evals, 1, order)  # (C, K)
    vec = torch.gather(evecs, 2, order[:, None, :].expand(-1, d, -1))  # (C, d, K)
    u = x.reshape(len(x), -1).to(q.dtype)
    proj = torch.einsum("nd,cdk->nck", u, vec)  # (N, C, K)
    cum = (lam[None] * proj**2).cumsum(-1)  # (N, C, K): the rank-k degree-2 part
    low, f2 = parts[:2].sum(0), parts[2]
    labels = y.to(low.device)
    sst = ((f2 - f2.mean(0)) ** 2).sum()
    accuracy, r2 = [], []
    for k in range(k_max):
        approx = cum[..., k]
        accuracy.append(float((low + approx).argmax(-1).eq(labels).double().mean()))
        err = f2 - approx
        r2.append(float(1 - ((err - err.mean(0)) ** 2).sum() / sst))
    acc = degree_accuracy(parts, labels)
    return {
        "k": list(range(1, k_max + 1)),
        "accuracy": accuracy,
        "r2": r2,
        "degree1": float(acc[1]),
        "degree2": float(acc[2]),
    }
