"""How sparse is the compositional tree? Measured against two baselines, not asserted.

Every interaction matrix (one per kept output direction of layers 1 … L−1) and every class
matrix (the last layer contracted with the head) of ``interpret.compositional_tree`` is a
symmetric (k+1) × (k+1) matrix over the directions of the wire below, index 0 the constant.
Its **product block** leaves the constant's row and column out (those are linear terms and
residual carries, not products); over its ``k(k+1)/2`` pairs i ≤ j, the pair's mass is
``M_ij² + M_ji²`` (``M_ii²`` on the diagonal). Two measures of each block:

* ``mass_count``: how many pairs hold ``share`` (90%) of the block's mass, the largest first;
* ``effective_pairs``: ``(Σ m)² / Σ m²`` over the pairs' masses m (a participation ratio:
  1 = one pair, every pair = the mass spread evenly).

Two baselines, each of the same size:

* **random**: Gaussian symmetric matrices (``(G + Gᵀ)/√2``), whose masses are as spread as
  chance makes them;
* **rotated**: the same network's blocks with every wire in a random orthonormal basis of its
  kept directions (the constant fixed): the function is unchanged, so if ODT's basis is
  what makes the tree sparse, the rotated blocks are less sparse than ODT's.

A tree counts as **sparse** only when its blocks need fewer pairs than both baselines
(``SparsityRow.sparse``: the median count below the 5th percentile of each baseline).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from xnets_lite.analysis.interpret import Tree


def pair_masses(blocks: Tensor) -> Tensor:
    """(…, k, k) symmetric blocks → (…, k(k+1)/2) pair masses ``M_ij² + M_ji²`` (i < j) and
    ``M_ii²``, in float64."""
    b = blocks.double()
    k = b.shape[-1]
    i, j = torch.triu_indices(k, k)
    sq = b**2
    return torch.where(i == j, sq[..., i, j], sq[..., i, j] + sq[..., j, i])


def mass_count(blocks: Tensor, share: float = 0.9) -> Tensor:
    """(…,) the fewest pairs holding ``share`` of each block's mass (largest first)."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    m = pair_masses(blocks).sort(dim=-1, descending=True).values
    total = m.sum(-1, keepdim=True)
    cum = m.cumsum(-1)
    # the first index where the cumulative mass reaches share of the total (tolerant to rounding)
    reached = cum >= share * total * (1 - 1e-12)
    return (reached.long().argmax(-1) + 1).double()


def effective_pairs(blocks: Tensor) -> Tensor:
    """(…,) ``(Σ m)² / Σ m²`` over each block's pair masses m."""
    m = pair_masses(blocks)
    return m.sum(-1) ** 2 / (m**2).sum(-1).clamp_min(torch.finfo(m.dtype).tiny)


def product_blocks(tree: Tree) -> dict[str, Tensor]:
    """``{"layer l": (k_l, k, k), …, "classes": (C, k, k)}``: the product blocks of every
    interaction matrix (non-constant outputs only) and class matrix of ``tree``."""
    out = {}
    for l, m in enumerate(tree.interactions, 1):
        out[f"layer {l}"] = m[1:, 1:, 1:]
    if tree.class_matrices is not None:
        out["classes"] = tree.class_matrices[:, 1:, 1:]
    return out


def random_symmetric(k: int, count: int, seed: int = 0) -> Tensor:
    """(count, k, k) Gaussian symmetric matrices ``(G + Gᵀ)/√2``, float64."""
    gen = torch.Generator().manual_seed(int(seed))
    g = torch.randn(count, k, k, generator=gen, dtype=torch.float64)
    return (g + g.mT) / 2**0.5


def random_orthogonal(k: int, gen: torch.Generator) -> Tensor:
    """A (k, k) Haar-random orthogonal matrix."""
    q, r = torch.linalg.qr(torch.randn(k, k, generator=gen, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def rotated_blocks(tree: Tree, seed: int = 0) -> dict[str, Tensor]:
    """``product_blocks`` of the same network with every wire's kept directions in a random
    orthonormal basis (the constant fixed; the classes stay classes). Products with the
    constant never enter a product block, so rotating the block suffices."""
    gen = torch.Generator().manual_seed(int(seed))
    out = {}
    mats = [m.double() for m in tree.interactions]
    wires = [m.shape[-1] - 1 for m in mats]
    if tree.class_matrices is not None:
        wires.append(tree.class_matrices.shape[-1] - 1)
    q = [random_orthogonal(k, gen) for k in wires]
    for l, m in enumerate(mats, 1):
        inner = q[l - 1] @ m[1:, 1:, 1:] @ q[l - 1].T  # rotate the wire below
        out[f"layer {l}"] = torch.einsum("po,oij->pij", q[l], inner)  # and the outputs
    if tree.class_matrices is not None:
        c = tree.class_matrices.double()[:, 1:, 1:]
        out["classes"] = q[-1] @ c @ q[-1].T
    return out


@dataclass
class SparsityRow:
    """One group of blocks (a layer's interaction matrices or the class matrices): the
    per-block counts of the tree, and of the two baselines (pooled over their draws)."""

    group: str
    size: int
    pairs: int
    tree: Tensor
    tree_effective: Tensor
    random: Tensor
    random_effective: Tensor
    rotated: Tensor
    rotated_effective: Tensor

    @property
    def sparse(self) -> bool:
        """The tree's median count is below the 5th percentile of both baselines."""
        med = float(self.tree.median())
        return med < float(self.random.quantile(0.05)) and med < float(self.rotated.quantile(0.05))

    def line(self) -> str:
        def q(t: Tensor) -> str:
            lo, hi = float(t.quantile(0.05)), float(t.quantile(0.95))
            return f"{float(t.median()):.0f} ({lo:.0f}–{hi:.0f})"

        return (
            f"{self.group:<8} {self.size}×{self.size}, {self.pairs} pairs: pairs for 90% of the "
            f"mass, median (5–95%): tree {q(self.tree)} | random {q(self.random)} | rotated "
            f"{q(self.rotated)}; effective pairs: tree {float(self.tree_effective.median()):.1f}"
            f" | random {float(self.random_effective.median()):.1f} | rotated "
            f"{float(self.rotated_effective.median()):.1f} → "
            + ("sparser than both" if self.sparse else "not sparser than both")
        )


def sparsity_rows(
    tree: Tree, share: float = 0.9, n_random: int = 2000, n_rotations: int = 10, seed: int = 0
) -> list[SparsityRow]:
    """One ``SparsityRow`` per group of ``tree``'s product blocks."""
    blocks = product_blocks(tree)
    rotations = [rotated_blocks(tree, seed + 1 + i) for i in range(n_rotations)]
    rows = []
    for group, b in blocks.items():
        k = b.shape[-1]
        rand = random_symmetric(k, n_random, seed)
        rot = torch.cat([r[group] for r in rotations])
        rows.append(
            SparsityRow(
                group=group,
                size=k,
                pairs=k * (k + 1) // 2,
                tree=mass_count(b, share),
                tree_effective=effective_pairs(b),
                random=mass_count(rand, share),
                random_effective=effective_pairs(rand),
                rotated=mass_count(rot, share),
                rotated_effective=effective_pairs(rot),
            )
        )
    return rows
