"""Notebook 06's study of seeds: the checks, seed × seed matrices and verdict criteria that
the chapter applies to the course's models, built on ``analysis.similarity``.

Returns numbers only (no printing, no figures; ``course.similarity_lines`` prints them):

* **checks by hand** — wire 1's coordinates as explicit tensors (``wire1_tensors``,
  ``explicit_wire1_gram``), the dense tree tensor split by degree (``dense_by_degree``,
  ``dense_inner_by_degree``), a network moved by permutations, L↔R swaps and gauges that
  leave its tree unchanged (``invariance_moves``);
* **seed × seed** — every measure for a list of models (``seed_matrices``), the rows the
  chapter summarises (``summary_rows``), their means within and across groups of models
  (``group_summary``), each degree's share of ‖T‖² per group (``energy_by_group``), the
  untrained baseline (``untrained_cosines``), the wires' spaces (``wire_space_similarity``);
* **the published method's drift** (``moment_drift``, ``published_gaps``);
* **what carries over** — readings per seed (``seed_readings``), their span and matched
  similarities over pairs of seeds (``reading_carryover``), the tree's directions
  (``direction_carryover``, ``random_match_baseline``), the verdict criterion
  (``carryover_verdict``);
* **the trajectory** (``trajectory_cosines``, ``settles``, ``max_weight_difference``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from xnets_lite.analysis.degrees import as_network, logit_degrees
from xnets_lite.analysis.similarity import (
    data_similarity,
    gaussian_low_degree,
    gaussian_low_matrix,
    gaussian_similarity,
    low_degree_terms,
    matched_cosines,
    matched_directions,
    mean_off_diagonal,
    moment_propagation,
    parts_matrix,
    subspace_similarity,
    weight_cosine,
    weight_matrix,
    weight_similarity,
    wire_similarity,
)
from xnets_lite.core.network import BilinearLayer, Network, symmetrise
from xnets_lite.core.odt import gauge

#: The chapter's criteria, stated before the numbers.
SAME = 0.9  # two seeds compute the same function / in the same way (cosine)
CARRIES_OVER, OF_THE_SEED = 0.5, 0.2  # a reading's mean similarity between seeds
DRIFT = 0.1  # the published E‖f‖² agrees with Monte Carlo within this relative difference
SETTLED = 0.99  # the cosine with the final model from which training has settled


# ---------------------------------------------------------------------------------------
# Checks by hand (tiny networks)
# ---------------------------------------------------------------------------------------
def wire1_tensors(net: Network) -> Tensor:
    """(n₁, d+1, d+1): wire 1's coordinates as explicit tensors over two copies of the
    homogeneous input, ``Σ_h D[o, h] ½(ℓ_h ⊗ r_h + r_h ⊗ ℓ_h)`` with ``ℓ_h = L[h] E``,
    ``r_h = R[h] E`` (the symmetrised first layer)."""
    layer = net.layers[0]
    ell, r = layer.left @ net.embed, layer.right @ net.embed  # rows: vectors over x̃
    pair = 0.5 * (torch.einsum("hi,hj->hij", ell, r) + torch.einsum("hi,hj->hij", r, ell))
    return torch.einsum("oh,hij->oij", layer.down, pair)


def explicit_wire1_gram(net_a: Network, net_b: Network) -> tuple[Tensor, Tensor]:
    """Wire 1's cross-Gram from the explicit tensors of ``wire1_tensors``: the total
    (n_a, n_b) and its split by degree (3, n_a, n_b), degree d the entries where d of the
    two copies pick a pixel (index ≥ 1). What ``cross_grams(a, b)[1]`` computes."""
    ta, tb = wire1_tensors(net_a), wire1_tensors(net_b)
    total = torch.einsum("pij,qij->pq", ta, tb)
    idx = torch.arange(ta.shape[1])
    degree = (idx[:, None] != 0).long() + (idx[None, :] != 0).long()
    parts = [torch.einsum("pij,qij->pq", ta * (degree == k), tb * (degree == k)) for k in range(3)]
    return total, torch.stack(parts)


def dense_by_degree(net) -> Tensor:
    """(2^L + 1, C, d+1, …, d+1): the symmetrised dense tree tensor (``Network.dense``, tiny
    networks only) split by degree: part d keeps the entries where exactly d copies pick a
    pixel."""
    t = symmetrise(as_network(net)).dense()
    n = t.dim() - 1
    idx = torch.meshgrid(*[torch.arange(t.shape[1])] * n, indexing="ij")
    degree = sum((i != 0).long() for i in idx)
    return torch.stack([t * (degree == d) for d in range(n + 1)])


def dense_inner_by_degree(a, b) -> Tensor:
    """(2^L + 1, C): ``⟨T_a,d[c], T_b,d[c]⟩`` from the dense tensors (brute force), what
    ``weight_similarity(a, b).ab`` computes by the recursion."""
    return (dense_by_degree(a) * dense_by_degree(b)).flatten(2).sum(-1)


def invariance_moves(net, generator: torch.Generator, strength: float = 0.3) -> Network:
    """The same tree written with other weights: every layer's hidden units permuted, L and R
    swapped in layers 0, 2, …, and a random invertible gauge ``I + strength · N(0, 1)`` on
    every wire (``odt.gauge``). Its tree tensor equals ``net``'s."""
    moved = as_network(net)
    for i, layer in enumerate(moved.layers):
        perm = torch.randperm(layer.n_hidden, generator=generator)
        left, right = layer.left[perm], layer.right[perm]
        left, right = (right, left) if i % 2 == 0 else (left, right)
        new = BilinearLayer(left, right, layer.down[:, perm])
        moved = moved.replace(layers=[*moved.layers[:i], new, *moved.layers[i + 1 :]])
    for wire, n in enumerate(moved.widths):
        noise = torch.randn(n, n, generator=generator, dtype=torch.float64)
        p = torch.eye(n, dtype=torch.float64) + strength * noise
        moved = gauge(moved, wire, p, torch.linalg.inv(p))
    return moved


def relative_change(a, b, reference) -> float:
    """``max |ab(a, ref) − ab(b, ref)| / max |ab(b, ref)|`` of ``weight_similarity``'s
    per-degree, per-class inner products with ``reference``: 0 when a and b have the same
    tree tensor."""
    ref = weight_similarity(b, reference).ab
    return float((weight_similarity(a, reference).ab - ref).abs().max() / ref.abs().max())


# ---------------------------------------------------------------------------------------
# Seed × seed
# ---------------------------------------------------------------------------------------
@dataclass
class SeedMatrices:
    """Every measure for M models, each (M, M, D + 1) (per degree d = 0…D − 1 and, last, all
    degrees) unless said otherwise.

    Attributes:
        weights: the weight cosine (``weight_matrix``; D = 2^L + 1).
        data: the centred logits' cosine on the data inputs (``parts_matrix``), exact.
        gauss, gauss_se: the uncentred cosine under the Gaussian draws, and its jackknife SE.
        gauss_low: (M, M, 3) the exact N(0, I) cosine of the degree 0, 1 and 2 parts.
        published: (M, M) the published moment propagation's cosine.
    """

    weights: Tensor
    data: Tensor
    gauss: Tensor
    gauss_se: Tensor
    gauss_low: Tensor
    published: Tensor


@torch.no_grad()
def seed_matrices(models, x_data: Tensor, x_gauss: Tensor, n_blocks: int = 20) -> SeedMatrices:
    """Every measure for every pair of ``models`` (same depth): weights, the data inputs
    ``x_data`` (N, d), the Gaussian draws ``x_gauss`` (N', d) in ``n_blocks`` blocks for
    the standard error, the exact degree ≤ 2 Gaussian parts, and the published method.
    Each model's degree split is computed once per set of inputs."""
    nets = list(models)
    data, _ = parts_matrix([logit_degrees(m, x_data) for m in nets], centred=True)
    gauss, gauss_se = parts_matrix(
        [logit_degrees(m, x_gauss) for m in nets], centred=False, n_blocks=n_blocks
    )
    return SeedMatrices(
        weights=weight_matrix(nets),
        data=data,
        gauss=gauss,
        gauss_se=gauss_se,
        gauss_low=gaussian_low_matrix([low_degree_terms(m) for m in nets]),
        published=torch.tensor(
            [[moment_propagation(a, b).cosine for b in nets] for a in nets], dtype=torch.float64
        ),
    )


def summary_rows(sm: SeedMatrices) -> dict[str, Tensor]:
    """The (M, M) matrices notebook 06 summarises, by the name it prints."""
    return {
        "weights, all degrees": sm.weights[..., -1],
        "weights, degree 1": sm.weights[..., 1],
        "weights, degree 2": sm.weights[..., 2],
        "data (test logits), total": sm.data[..., -1],
        "data, degree 1": sm.data[..., 1],
        "data, degree 2": sm.data[..., 2],
        "data, degree 3": sm.data[..., 3],
        "N(0,I) degree 1 (exact)": sm.gauss_low[..., 1],
        "N(0,I) degree 2 (exact)": sm.gauss_low[..., 2],
        "N(0,I) total (Monte Carlo)": sm.gauss[..., -1],
        "published (moment propagation)": sm.published,
    }


def group_summary(matrix: Tensor, groups: dict[str, slice]) -> tuple[dict[str, float], float]:
    """For an (M, M) matrix and two ``groups`` of models (name → slice): the mean over pairs
    i ≠ j within each group, and the mean over all pairs across the first and second group."""
    within = {g: float(mean_off_diagonal(matrix[s, s])) for g, s in groups.items()}
    first, second = groups.values()
    return within, float(matrix[first, second].mean())


def energy_by_group(models, groups: dict[str, slice]) -> dict[str, Tensor]:
    """Each degree's share of the tree tensor's ‖T‖² (``energy_share``, around 0), the mean
    over each group's models: name → (2^L + 1,)."""
    energy = torch.stack([weight_similarity(m, m).energy_share()[0] for m in models])
    return {g: energy[s].mean(0) for g, s in groups.items()}


def untrained_cosines(model_a, model_b, x: Tensor) -> dict[str, float]:
    """The trivial baseline: two (untrained) models' weight cosine, centred logit cosine on
    ``x`` and the published method's cosine."""
    return dict(
        weights=weight_cosine(model_a, model_b),
        data=data_similarity(model_a, model_b, x).cosine(),
        published=moment_propagation(model_a, model_b).cosine,
    )


def wire_space_similarity(models) -> tuple[Tensor, int, int]:
    """The mean over pairs of ``models`` of ``wire_similarity`` (L + 1,), the rank of the
    first model's wire 0 (its embedding's rank + the constant) and the number of input
    coordinates d + 1: a random subspace of that rank gives rank / (d + 1)."""
    nets = list(models)
    pairs = [(i, j) for i in range(len(nets)) for j in range(i + 1, len(nets))]
    wires = torch.stack([wire_similarity(nets[i], nets[j]) for i, j in pairs])
    first = as_network(nets[0])
    rank0 = int(torch.linalg.matrix_rank(first.embed[1:, 1:])) + 1
    return wires.mean(0), rank0, first.d_input + 1


# ---------------------------------------------------------------------------------------
# The published method against Monte Carlo
# ---------------------------------------------------------------------------------------
def moment_drift(models_by_depth: dict, n_samples: int, seed: int) -> list[dict]:
    """For each model (depth → model, in order of depth): the published estimate of
    ``E‖f‖²`` under N(0, I), Monte Carlo's (``n_samples`` draws with ``seed``) and its
    standard error, their ratio and whether it agrees (within ``DRIFT``); for a one-layer
    model also the exact closed form (``gaussian_low_degree``). One dict per depth."""
    rows = []
    for n, m in sorted(models_by_depth.items()):
        est = float(moment_propagation(m, m).aa.trace())
        gs = gaussian_similarity(m, m, n_samples=n_samples, seed=seed)
        mc, se = float(gs.mc_total[1]), float(gs.mc_total_se[1])
        row = dict(depth=n, published=est, mc=mc, mc_se=se, ratio=est / mc)
        row["agrees"] = abs(est / mc - 1) <= DRIFT
        if n == 1:
            row["exact"] = float(gaussian_low_degree(m, m).sum())
        rows.append(row)
    return rows


def published_gaps(
    published: Tensor, gauss: Tensor, gauss_se: Tensor, group: slice
) -> tuple[list[float], list[float]]:
    """For every pair i < j of one ``group`` of models: the published cosine minus the
    Monte Carlo cosine (the last entry of ``gauss``), and that gap in standard errors."""
    idx = list(range(published.shape[0]))[group]
    pairs = [(i, j) for k, i in enumerate(idx) for j in idx[k + 1 :]]
    gaps = [float(published[i, j] - gauss[i, j, -1]) for i, j in pairs]
    return gaps, [g / float(gauss_se[i, j, -1]) for g, (i, j) in zip(gaps, pairs)]


# ---------------------------------------------------------------------------------------
# What carries over between seeds
# ---------------------------------------------------------------------------------------
def carryover_verdict(value: float) -> str:
    """The chapter's criterion: "carries over" from ``CARRIES_OVER``, "of the seed" below
    ``OF_THE_SEED``, "partly" between."""
    if value >= CARRIES_OVER:
        return "carries over"
    return "of the seed" if value < OF_THE_SEED else "partly"


def seed_readings(class_vectors: Tensor, qi) -> dict[str, Tensor]:
    """One seed's readings of notebook 03 as (C, k, d) stacks of unit vectors: the class-Gram
    eigenvectors (``class_eigenvectors(...).vectors``), ``Q_c``'s excitatory and
    inhibitory eigenvectors and the linear template (from ``class_interactions``, ``qi``;
    the template as (C, 1, d))."""
    template = qi.template / qi.template.norm(dim=-1, keepdim=True)
    return {
        "class Gram top-3": class_vectors,
        "Q_c excitatory top-3": qi.positive,
        "Q_c inhibitory top-3": qi.negative,
        "template": template[:, None],
    }


def reading_carryover(readings: dict, keys: list) -> dict[str, tuple[float, float]]:
    """For each reading (name → (C, k, d)) of the models ``keys`` (seeds of one kind), the
    mean over classes and pairs of seeds of the span similarity (``subspace_similarity``)
    and of the top vector's best |cos| with the other seed's vectors (``matched_cosines``)."""
    pairs = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1 :]]
    out = {}
    for name in readings[keys[0]]:
        span = [subspace_similarity(readings[a][name], readings[b][name]).mean() for a, b in pairs]
        top = [
            matched_cosines(readings[a][name][:, :1], readings[b][name]).mean() for a, b in pairs
        ]
        out[name] = (float(torch.stack(span).mean()), float(torch.stack(top).mean()))
    return out


def random_match_baseline(n_coords: int, rank: int, width: int, seed: int) -> float:
    """Mean best |cos| of ``rank`` random orthonormal directions in ``n_coords`` coordinates
    against ``width`` random orthonormal ones (seeded): the tree's matched directions'
    baseline on wire 0."""
    gen = torch.Generator().manual_seed(seed)
    qa = torch.linalg.qr(torch.randn(n_coords, rank, generator=gen, dtype=torch.float64))[0]
    qb = torch.linalg.qr(torch.randn(n_coords, width, generator=gen, dtype=torch.float64))[0]
    return float((qa.T @ qb).abs().amax(1).mean())


def direction_carryover(decs: list, rank: int) -> tuple[Tensor, Tensor]:
    """For decompositions of seeds of one kind: the mean over pairs of seeds (a before b) and
    over a's top-``rank`` directions of the best |cos| with b's (``matched_directions``),
    and of its square, per wire: two (L + 1,) tensors."""
    pairs = [(a, b) for i, a in enumerate(decs) for b in decs[i + 1 :]]
    per_pair = [matched_directions(a, b, rank) for a, b in pairs]
    cos = torch.stack([torch.stack([w.mean() for w in p]) for p in per_pair]).mean(0)
    cos2 = torch.stack([torch.stack([(w**2).mean() for w in p]) for p in per_pair]).mean(0)
    return cos, cos2


# ---------------------------------------------------------------------------------------
# The training trajectory
# ---------------------------------------------------------------------------------------
def max_weight_difference(model_a, model_b) -> float:
    """max |Δ| over the parameters of two models of the same architecture."""
    pairs = zip(model_a.parameters(), model_b.parameters())
    return max(float((p - q).detach().abs().max()) for p, q in pairs)


def trajectory_cosines(models, x: Tensor) -> tuple[Tensor, Tensor]:
    """Every model against every other (the snapshots of one training run): the weight
    cosine, all degrees, and the centred logits' cosine on ``x``: two (E, E) matrices."""
    weights = weight_matrix(models)[..., -1]
    data = parts_matrix([logit_degrees(m, x) for m in models])[0][..., -1]
    return weights, data


def settles(row, level: float = SETTLED) -> int:
    """The first epoch (from 1) from which the cosine with the final model (``row``, one
    value per epoch) stays ≥ ``level``."""
    ok = [bool(v >= level) for v in row]
    return next(e + 1 for e in range(len(ok)) if all(ok[e:]))
