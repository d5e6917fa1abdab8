"""Stronger controls for notebook 05's ablation, fair at k = 1, 2, 3.

``validation`` compares a class's top-k class-Gram (ODT) directions with trivial readings.
Beyond one direction those are weak: the linear template's 2nd and 3rd directions (the
gradient at the mean, the mean gradient) are nearly collinear with its first, the class
mean's are within-class principal components, and random directions carry far less of the
data's energy than any reading. This module adds three controls that stay strong for every k,
each a function returning (C, k, d) float64 like the others (unit rows, per class):

* ``gradient_covariance_directions`` — the top-k eigenvectors of class c's **gradient
  covariance on data**, ``E_x[∇ₓlogit_c ∇ₓlogit_cᵀ]``: the input directions along which the
  logit actually moves around the data (weights and data, by autograd).
* ``discriminant_directions`` — **one-vs-rest Fisher discriminants**, from data alone: the
  LDA direction of class c against the rest, then successive orthogonal discriminants
  (Foley–Sammon), each the best linear separator left once the previous are projected out.
* ``energy_matched_random_directions`` — **random directions carrying the reading's energy**
  on the data: per class and per k, the ablation of the random span removes exactly as much
  of the images' energy as the reading's (``projection_energy`` measures it).

Ablation by mean replacement (``x ← x − V Vᵀ(x − x̄)``) is ``validation.ablation_matrix``'s
``mode="mean"``. Nothing here prints or draws.
"""

from __future__ import annotations

import torch
from torch import Tensor

from xnets_lite.core import evaluation

__all__ = [
    "gradient_covariance",
    "gradient_covariance_directions",
    "discriminant_directions",
    "projection_energy",
    "energy_matched_random_directions",
]


def _flat(x: Tensor) -> Tensor:
    return x.reshape(len(x), -1)


# ---------------------------------------------------------------------------------------
# Gradient covariance on data (weights and data)
# ---------------------------------------------------------------------------------------
def gradient_covariance(model, x: Tensor, batch_size: int = 500) -> tuple[Tensor, Tensor]:
    """``(G, g)``: ``G`` (C, d, d) float64, ``G[c] = mean_n ∇ₓlogit_c(x_n) ∇ₓlogit_c(x_n)ᵀ``
    (the uncentred gradient covariance, or expected outer product, of every logit over the
    inputs ``x`` (N, d)), and ``g`` (C, d), the mean gradient. By autograd, one backward pass
    per class and batch, on ``model`` (an ``nn.Module`` in eval mode for the call, or a
    ``Network``)."""
    x = _flat(x)
    if not len(x):
        raise ValueError("gradient_covariance got no inputs (x is empty)")
    device, dtype = evaluation.placement(model)
    cov = mean = None
    with evaluation.eval_mode(model), torch.enable_grad():
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(device=device, dtype=dtype).requires_grad_(True)
            out = model(xb)
            grads = torch.stack(
                [
                    torch.autograd.grad(out[:, c].sum(), xb, retain_graph=True)[0]
                    for c in range(out.shape[1])
                ]
            )  # (C, B, d): the rows are independent, so the summed logit's gradient is per row
            grads = grads.detach().double().cpu()
            batch_cov = grads.mT @ grads
            cov = batch_cov if cov is None else cov + batch_cov
            mean = grads.sum(1) if mean is None else mean + grads.sum(1)
    return cov / len(x), mean / len(x)


def gradient_covariance_directions(
    model, x: Tensor, k: int = 3, n_classes: int | None = None, batch_size: int = 500
) -> Tensor:
    """(C, k, d) float64: per class c, the top-``k`` eigenvectors of its gradient covariance
    on the inputs ``x`` (``gradient_covariance``), largest eigenvalue first, each signed to
    raise the logit on average (``v · mean ∇logit_c ≥ 0``).

    The eigenvectors are orthonormal, and the top k span the k-dimensional subspace that
    holds the most of the logit's squared first-order change around the data,
    ``E_x[(vᵀ∇ₓlogit_c)²]``: the data-driven answer to "which k input directions does the
    logit respond to". For a logit linear in x (``logit_c = w_cᵀx + b_c``) the covariance is
    ``w_c w_cᵀ``, rank one, and the first direction is ``w_c / |w_c|`` (the template); a
    χ-net's gradient varies with x, which gives the later directions their meaning.
    ``n_classes``, if given, must match the model's outputs."""
    cov, mean = gradient_covariance(model, x, batch_size)
    if n_classes is not None and n_classes != cov.shape[0]:
        raise ValueError(f"the model has {cov.shape[0]} logits, n_classes is {n_classes}")
    if not 1 <= k <= cov.shape[-1]:
        raise ValueError(f"k must be in [1, {cov.shape[-1]}], got {k}")
    _, vecs = torch.linalg.eigh(cov)  # ascending
    top = vecs[..., -k:].flip(-1).mT  # (C, k, d), largest first
    sign = torch.where((top @ mean.unsqueeze(-1)) < 0, -1.0, 1.0).to(top.dtype)
    return (top * sign).contiguous()


# ---------------------------------------------------------------------------------------
# One-vs-rest discriminants (data only)
# ---------------------------------------------------------------------------------------
def _scatter(x: Tensor, chunk: int = 10000) -> tuple[Tensor, Tensor]:
    """Mean (d,) and covariance (d, d) of the rows of ``x``, float64, in chunks."""
    mean = x.double().mean(0)
    cov = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64)
    for i in range(0, len(x), chunk):
        xc = x[i : i + chunk].double() - mean
        cov += xc.T @ xc
    return mean, cov / len(x)


def _orthogonal_discriminants(chol: Tensor, delta: Tensor, k: int) -> Tensor:
    """(k, d): the successive maximisers of ``(wᵀΔ)² / (wᵀ S w)`` orthogonal to the previous
    ones, ``S = chol cholᵀ`` (``discriminant_directions``)."""
    s_delta = torch.cholesky_solve(delta[:, None], chol)[:, 0]
    ws: list[Tensor] = []
    for _ in range(k):
        w = s_delta
        if ws:
            w_prev = torch.stack(ws, 1)  # (d, j − 1)
            s_w = torch.cholesky_solve(w_prev, chol)
            w = s_delta - s_w @ torch.linalg.solve(w_prev.T @ s_w, w_prev.T @ s_delta)
        ws.append(w / w.norm())
    return torch.stack(ws)


def discriminant_directions(
    x: Tensor, y: Tensor, k: int = 3, n_classes: int | None = None, ridge: float = 0.1
) -> Tensor:
    """(C, k, d) float64, **from data, no weights**: class c's one-vs-rest discriminants.

    Let ``Δ = μ_c − μ_rest`` (class c's mean image minus that of all other images), ``p`` the
    share of class c, and ``Σ_w = Σ − p(1 − p) ΔΔᵀ`` the pooled within-group covariance of
    the two groups (``Σ``: the covariance of all images; the subtracted term is the between
    scatter of c against the rest, which has **rank one**). Regularised:
    ``S = Σ_w + λ I`` with ``λ = ridge · tr(Σ) / d`` (a share of the images' mean variance
    per pixel; pixels constant over the data make ``Σ_w`` singular without it).

    * The first direction is **Fisher's LDA direction**, the maximiser of
      ``J(w) = (wᵀΔ)² / (wᵀ S w)``: ``w₁ ∝ S⁻¹Δ``.
    * Because the between scatter has rank one, the generalised eigenproblem of
      (between, within) has a single non-zero eigenvalue; its other eigenvectors carry no
      separation at all. Directions 2…k are instead the **orthogonal discriminants**
      (Foley & Sammon, 1975): ``w_j`` maximises ``J`` over the w orthogonal to
      ``W = [w₁ … w_{j−1}]``. Lagrange's condition ``S w ∝ Δ − W a`` with ``Wᵀw = 0`` gives
      ``w_j ∝ S⁻¹(Δ − W a)``, ``a = (Wᵀ S⁻¹ W)⁻¹ Wᵀ S⁻¹ Δ``. For w ⊥ W, ``wᵀ(x − W Wᵀx) =
      wᵀx``, so ``w_j`` is exactly Fisher's direction (same λ) of the images with
      ``w₁ … w_{j−1}`` projected out: the direction a linear c-versus-rest classifier falls
      back on once the previous ones are ablated — the natural k-direction data control.

    The rows are orthonormal (unit norm, mutually orthogonal by construction), each signed
    towards class c (``w_jᵀΔ = (Δ − Wa)ᵀ S⁻¹ (Δ − Wa) > 0``). ``x``: (N, d) or images;
    ``y``: (N,) labels."""
    x = _flat(x)
    if ridge < 0:
        raise ValueError(f"ridge must be ≥ 0, got {ridge}")
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    if not 1 <= k <= x.shape[1]:
        raise ValueError(f"k must be in [1, {x.shape[1]}], got {k}")
    mean, cov = _scatter(x)
    lam = ridge * float(cov.diagonal().mean())
    eye = torch.eye(x.shape[1], dtype=torch.float64)
    out = []
    for c in range(n_classes):
        inside = y == c
        n_c = int(inside.sum())
        if n_c == 0 or n_c == len(y):
            raise ValueError(f"class {c} has {n_c} of {len(y)} images; it needs some and a rest")
        p = n_c / len(y)
        mu_c = x[inside].double().mean(0)
        delta = (mu_c - mean) / (1 - p)  # μ_c − μ_rest, since μ = p μ_c + (1 − p) μ_rest
        chol = torch.linalg.cholesky(cov - p * (1 - p) * torch.outer(delta, delta) + lam * eye)
        out.append(_orthogonal_discriminants(chol, delta, k))
    return torch.stack(out)


# ---------------------------------------------------------------------------------------
# Energy-matched random directions
# ---------------------------------------------------------------------------------------
def _second_moment(x: Tensor, mean: Tensor | None) -> Tensor:
    x = _flat(x).double()
    if mean is not None:
        x = x - torch.as_tensor(mean).reshape(-1).double()
    return x.T @ x / len(x)


def projection_energy(directions: Tensor, x: Tensor, mean: Tensor | None = None) -> Tensor:
    """(C, K) float64: ``E_x |Π_k (x − m)|²``, the mean squared norm of the images' projection
    onto the span of ``directions[c, :k]`` (orthonormalised in order), for k = 1 … K, over
    the rows of ``x``, with ``m`` = ``mean`` or 0. It is what an ablation of those k
    directions removes from the images: with ``m = 0`` by zeroing, with ``m`` the mean image
    by mean replacement (there, about their variance along the span)."""
    moment = _second_moment(x, mean)
    directions = torch.as_tensor(directions, dtype=torch.float64)
    q = torch.linalg.qr(directions.mT).Q.mT  # (C, K, d), nested spans, orthonormal rows
    return torch.einsum("cki,ij,ckj->ck", q, moment, q).cumsum(-1)


def _tilted_direction(
    lam: Tensor, vec: Tensor, prev: Tensor | None, target: float, gen
) -> Tensor | None:
    """A unit vector u orthogonal to the orthonormal columns ``prev`` (d, j) with
    ``uᵀ M u = target``, where ``M = vec diag(lam) vecᵀ`` (``vec`` (d, m) orthonormal):
    ``u ∝ P (M + δ)^{α/2} g`` (g Gaussian, P the projector off ``prev``, δ a floor that keeps
    the power finite on null directions), α found by bisection. Without ``prev`` the energy
    rises monotonically with α, from the smallest eigenvalue (α → −∞) through a plain random
    direction's (α = 0) to the largest (α → ∞), so every target in between is met; with
    ``prev`` the bisection keeps a bracket ``energy(lo) < target ≤ energy(hi)``, and None
    is returned where the ends do not bracket the target (the caller then works in the
    complement of ``prev`` exactly)."""
    lam = lam.clamp_min(0)
    log_lam = torch.log(lam + 1e-12 * float(lam.max()) + 1e-300)
    v = None if prev is None else vec.T @ prev  # (m, j): prev in the eigenbasis
    z = vec.T @ torch.randn(vec.shape[0], generator=gen, dtype=torch.float64)

    def coords(alpha: float) -> Tensor:
        power = 0.5 * alpha * log_lam
        c = z * torch.exp(power - power.max())  # the common scale drops out
        return c if v is None else c - v @ (v.T @ c)

    def energy(alpha: float) -> float:
        c2 = coords(alpha).square()
        return float((c2 @ lam) / c2.sum())

    lo, hi = -1e3, 1e3
    e_lo, e_hi = energy(lo), energy(hi)
    if not (e_lo == e_lo and e_hi == e_hi) or (v is not None and not e_lo < target <= e_hi):
        return None
    if target <= e_lo or target >= e_hi:  # beyond what the span allows: clamped
        lo = hi = lo if target <= e_lo else hi
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if energy(mid) < target else (lo, mid)
    u = vec @ coords((lo + hi) / 2)
    return u / u.norm()


def _matched_directions(moment: Tensor, eigen, targets: Tensor, gen) -> Tensor:
    """(K, d): orthonormal rows whose successive energies under ``moment`` are ``targets``
    (K,), drawn by ``_tilted_direction`` in ``moment``'s eigenbasis ``eigen``, or, where that
    fails, exactly in the complement of the rows so far (one eigendecomposition there)."""
    us: list[Tensor] = []
    for target in targets.tolist():
        prev = torch.stack(us, 1) if us else None
        u = _tilted_direction(*eigen, prev, target, gen)
        if u is None:
            free = torch.linalg.qr(prev, mode="complete").Q[:, len(us) :]
            lam, vec = torch.linalg.eigh(free.T @ moment @ free)
            u = _tilted_direction(lam, free @ vec, None, target, gen)
        us.append(u)
    return torch.stack(us)


def energy_matched_random_directions(
    reference: Tensor, x: Tensor, mean: Tensor | None = None, seed: int = 0
) -> Tensor:
    """(C, K, d) float64: random orthonormal directions, per class, **matched in energy** to
    ``reference`` (C, K, d), the reading's directions, on the images ``x``.

    What is matched, exactly: for every class c and every k ≤ K, the energy an ablation of
    the first k directions removes, ``projection_energy`` ``E_x |Π_k (x − m)|²`` (``m`` =
    ``mean``: 0 for zeroing, the training mean image for mean replacement, where it is the
    variance along the span). The reading's directions are orthonormalised in order
    (Gram–Schmidt), which splits that energy into increments ``e_j = q_jᵀ M q_j``
    (``M = E[(x − m)(x − m)ᵀ]``); random direction j is drawn orthogonal to the previous
    ones with ``uᵀ M u = e_j`` (``_tilted_direction``: a Gaussian direction tilted towards
    the data's high- or low-energy components just enough), so every prefix matches. A plain
    random direction in pixel space carries about ``tr M / d``, far less than a reading's;
    these carry the same, leaving only *which* directions to the comparison. A target
    beyond what the remaining directions allow is clamped (``projection_energy`` then shows
    the shortfall). A fresh draw per class, from a generator seeded with ``seed``."""
    reference = torch.as_tensor(reference, dtype=torch.float64)
    if reference.dim() != 3:
        raise ValueError(f"reference must be (classes, K, d), got {tuple(reference.shape)}")
    moment = _second_moment(x, mean)
    if moment.shape[0] != reference.shape[2]:
        raise ValueError(
            f"x has {moment.shape[0]} values per image, the directions {reference.shape[2]}"
        )
    q = torch.linalg.qr(reference.mT).Q.mT
    targets = torch.einsum("cki,ij,ckj->ck", q, moment, q)
    gen = torch.Generator().manual_seed(seed)
    eigen = torch.linalg.eigh(moment)
    return torch.stack([_matched_directions(moment, eigen, t, gen) for t in targets])
