"""ODT — orthogonalise, diagonalise, truncate: an SVD for deep bilinear networks.

All three steps are *gauge transformations* of the wires: an invertible map ``P`` applied to
a wire's producer (``D ← P D``) and its inverse to every consumer (``L ← L P⁻¹``,
``R ← R P⁻¹``). The function never changes; only the basis of each wire does. Everything
works on the factored (L, R, D) layers, so the cost is that of k×k Gram matrices
(k = hidden size), never of k³ layer tensors or of the 2^L-copy unrolled tree.

Two Grams per wire (each n×n, for a wire of size n):

* the **upstream Gram** ``G``: inner products of the wire's coordinates as tensors over the
  input copies below it, ``G_{l+1} = D [(L G_l Lᵀ) ⊙ (R G_l Rᵀ)] Dᵀ``, starting at ``E Eᵀ``;
* the **downstream Gram** ``M``: the same for the rest of the network above one copy,
  ``M_l = Lᵀ [(Dᵀ M_{l+1} D) ⊙ (R G_l Rᵀ)] L``, starting at the head's ``Hᵀ H``.

With ``G = I`` (after orthogonalising) the eigenvalues of ``M`` are the squared singular
values of the whole network unfolded at one copy of the wire: its **global spectrum**.

The constant coordinate (index 0, the "1" biases multiply) stays index 0 throughout: the
rotations act on the other coordinates after removing their overlap with the constant
(a Gram–Schmidt step), so a wire keeps a dedicated constant direction that carries the
biases, the residual's linear terms and the logit offsets. It is never truncated.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import Tensor

from .model import XNet
from .network import BilinearLayer, Network, symmetrise, to_network

#: Directions whose upstream Gram eigenvalue is below ``RTOL`` times the largest carry no
#: function (numerically zero); orthogonalising drops them.
RTOL = 1e-12


# ---------------------------------------------------------------------------------------
# Grams
# ---------------------------------------------------------------------------------------
def sandwich(a: Tensor, gram: Tensor | None = None) -> Tensor:
    """``A G Aᵀ``; ``gram=None`` stands for the identity (an orthonormal wire)."""
    return a @ a.T if gram is None else a @ gram @ a.T


def layer_gram(layer: BilinearLayer, gram: Tensor | None = None,
               left_gram: Tensor | None = None) -> Tensor:
    """Upstream Gram of a layer's output: ``D [(L G Lᵀ) ⊙ (R G Rᵀ)] Dᵀ`` (n_out, n_out).

    ``gram=None`` means the identity; ``left_gram`` may pass ``L G Lᵀ`` when known."""
    lgl = sandwich(layer.left, gram) if left_gram is None else left_gram
    rgr = lgl if layer.is_symmetric else sandwich(layer.right, gram)
    return layer.down @ (lgl * rgr) @ layer.down.T


def upstream_grams(net: Network) -> list[Tensor]:
    """The upstream Gram of every wire (input Gram = identity), from input to output."""
    gram = net.embed @ net.embed.T
    grams = [gram]
    for layer in net.layers:
        gram = layer_gram(layer, gram)
        grams.append(gram)
    return grams


def propagate_down(layer: BilinearLayer, m: Tensor, gram: Tensor | None = None,
                   right_gram: Tensor | None = None) -> Tensor:
    """Downstream Gram of the left input copy of a layer, from that of its output.

    ``M_in = Lᵀ [(Dᵀ M D) ⊙ (R G Rᵀ)] L``, where ``G`` is the upstream Gram of the *other*
    copy (identity if omitted, i.e. after orthogonalising). ``m`` may be batched
    (…, n_out, n_out), e.g. one Gram per class. ``right_gram`` may pass ``R G Rᵀ`` when known.
    """
    rgr = sandwich(layer.right, gram) if right_gram is None else right_gram
    inner = layer.down.T @ m @ layer.down
    return layer.left.T @ (inner * rgr) @ layer.left


def downstream_grams(net: Network, head_gram: Tensor | None = None) -> list[Tensor]:
    """Downstream Gram of (the left copy of) every wire, from the head down.

    ``head_gram`` defaults to ``H₁ᵀ H₁`` over the logit rows (the scale row is bookkeeping).
    """
    grams = upstream_grams(net)
    m = net.head[1:].T @ net.head[1:] if head_gram is None else head_gram
    out = [m]
    for layer, gram in zip(reversed(net.layers), reversed(grams[:-1])):
        m = propagate_down(layer, m, gram)
        out.append(m)
    return out[::-1]


# ---------------------------------------------------------------------------------------
# Gauge moves
# ---------------------------------------------------------------------------------------
def _gauge(net: Network, wire: int, p: Tensor, p_inv: Tensor) -> Network:
    """Apply ``w ← P w`` on one wire: its producer gets ``P``, its consumer ``P⁻¹``."""
    layers = list(net.layers)
    embed, head = net.embed, net.head
    if wire == 0:
        embed = p @ embed
    else:
        prod = layers[wire - 1]
        layers[wire - 1] = BilinearLayer(prod.left, prod.right, p @ prod.down)
    if wire == len(layers):
        head = head @ p_inv
    else:
        cons = layers[wire]
        left = cons.left @ p_inv
        right = left if cons.is_symmetric else cons.right @ p_inv
        layers[wire] = BilinearLayer(left, right, cons.down)
    return net.replace(embed=embed, layers=layers, head=head)


def whitening(gram: Tensor, rtol: float = RTOL) -> tuple[Tensor, Tensor]:
    """A basis change ``P`` (r+1, n) with ``P G Pᵀ = I`` that keeps index 0 the constant.

    Coordinate 0 is only rescaled (``a = G₀₀^{-½}``); the others lose their overlap with it,
    ``w_rest − g w₀`` with ``g = G[1:,0] / G₀₀``, and are whitened by the eigendecomposition
    of the Schur complement ``C = G[1:,1:] − G[1:,0] G[0,1:] / G₀₀ = U S² Uᵀ``, keeping
    ``S⁻¹Uᵀ`` (largest first) and dropping null directions. Returns ``P`` and its right
    inverse ``P⁻¹`` (n, r+1), ``P⁻¹ = [[1/a, 0], [g/a, U S]]``.
    """
    g00 = gram[0, 0]
    if not g00 > 0:
        raise ValueError("the constant coordinate of a wire has zero norm: index 0 must be the "
                         "homogeneous coordinate (build the network with to_network)")
    g = gram[1:, 0] / g00
    schur = gram[1:, 1:] - torch.outer(gram[1:, 0], g)
    evals, vecs = torch.linalg.eigh((schur + schur.T) / 2)
    evals, vecs = evals.flip(0), vecs.flip(1)
    keep = evals > rtol * torch.clamp(evals[:1], min=g00) if len(evals) else evals > 0
    s, u = evals[keep].sqrt(), vecs[:, keep]
    a = g00.rsqrt()
    n, r = gram.shape[0], int(keep.sum())
    p = gram.new_zeros(r + 1, n)
    p[0, 0] = a
    p[1:, 1:] = u.T / s[:, None]
    p[1:, 0] = -p[1:, 1:] @ g
    p_inv = gram.new_zeros(n, r + 1)
    p_inv[0, 0] = 1 / a
    p_inv[1:, 0] = g / a
    p_inv[1:, 1:] = u * s
    return p, p_inv


def orthogonalise(net: Network, rtol: float = RTOL) -> Network:
    """Input → output: make every wire's upstream Gram the identity.

    For each wire, whiten its upstream Gram ``G = U S² Uᵀ`` (``whitening``): the producer
    keeps ``S⁻¹Uᵀ`` and the consumer absorbs ``U S``, so all of the scale ends in the head.
    Directions that carry nothing (zero eigenvalues) are dropped, so wires may shrink.
    """
    return _orthogonalise(net, rtol)[0]


def _orthogonalise(net: Network, rtol: float) -> tuple[Network, list[Tensor]]:
    """``orthogonalise``, also returning every layer's ``L Lᵀ`` in the final basis (the
    diagonalising rotations leave it unchanged, so ``diagonalise`` can reuse it)."""
    gram, left_grams = sandwich(net.embed), []
    for wire in range(len(net.layers) + 1):
        if wire > 0:
            # the wire below is orthonormal now: its Gram is the identity, and this layer's
            # L is final up to rotations of that wire
            layer = net.layers[wire - 1]
            left_grams.append(sandwich(layer.left))
            gram = layer_gram(layer, left_gram=left_grams[-1])
        p, p_inv = whitening(gram, rtol)
        net = _gauge(net, wire, p, p_inv)
    return net, left_grams


def diagonalise(net: Network, left_grams: list[Tensor] | None = None
                ) -> tuple[Network, list[Tensor], list[Tensor]]:
    """Output → input: rotate every wire so its downstream Gram is diagonal.

    Needs a symmetric, orthogonalised network (``L = R``, upstream Grams = I). From the
    head's ``Hᵀ H`` down, ``M_l = Lᵀ [(Dᵀ M_{l+1} D) ⊙ (L Lᵀ)] L``; the eigenvectors of its
    non-constant block ``M[1:,1:]`` (largest first) are folded into the producer and, as their
    transpose, into the consumers. Rotations keep the upstream Grams equal to I.

    Returns the rotated network, the **global spectrum** of every wire (all eigenvalues of
    ``M``, largest first: the squared singular values of the network unfolded at one copy of
    the wire) and the **importance** of every coordinate in the new basis (``diag M``;
    index 0 = the constant, then the non-constant eigenvalues, largest first).
    ``left_grams`` (each layer's ``L Lᵀ``, from ``_orthogonalise``) saves recomputing them.
    """
    if not all(layer.is_symmetric for layer in net.layers):
        raise ValueError("diagonalise needs a symmetric network (L = R); call symmetrise first")
    n_wires = len(net.layers) + 1
    spectra, importance = [None] * n_wires, [None] * n_wires
    m = net.head[1:].T @ net.head[1:]
    for wire in reversed(range(n_wires)):
        spectra[wire] = torch.linalg.eigvalsh(m).flip(0).clamp_min(0)
        evals, vecs = torch.linalg.eigh(m[1:, 1:])
        q = torch.zeros_like(m)
        q[0, 0] = 1
        q[1:, 1:] = vecs.flip(1).T
        net = _gauge(net, wire, q, q.T)
        m = q @ m @ q.T
        importance[wire] = m.diagonal().clamp_min(0).clone()
        if wire > 0:
            known = None if left_grams is None else left_grams[wire - 1]
            m = propagate_down(net.layers[wire - 1], m, right_gram=known)
    return net, spectra, importance


def check_ranks(widths: list[int], ranks) -> list[int]:
    """Normalise ``ranks`` (int, or one int per wire) to a list; clear errors otherwise."""
    n_wires = len(widths)
    if isinstance(ranks, bool) or not isinstance(ranks, (int, list, tuple)):
        raise TypeError(f"ranks must be an int or a list of {n_wires} ints (one per wire), "
                        f"got {type(ranks).__name__}")
    ranks = [ranks] * n_wires if isinstance(ranks, int) else list(ranks)
    if len(ranks) != n_wires:
        raise ValueError(f"got {len(ranks)} ranks for a network with {n_wires} wires; "
                         f"give one rank per wire (wire 0 = after the embedding)")
    for wire, (k, n) in enumerate(zip(ranks, widths)):
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(f"rank of wire {wire} must be an int, got {k!r}")
        if k < 0 or k > n - 1:
            raise ValueError(f"rank {k} for wire {wire} is out of range: that wire has {n - 1} "
                             f"directions besides the constant, so choose 0 ≤ rank ≤ {n - 1}")
    return ranks


def truncate(net: Network, ranks) -> Network:
    """Keep the constant and the first ``ranks[l]`` directions of every wire.

    Meant for a diagonalised network, whose coordinates are sorted by importance: then the
    result is the ODT truncation. Producer rows and consumer columns are cut; the network
    still runs (``net(x)``) and is smaller.
    """
    ranks = check_ranks(net.widths, ranks)
    for wire, k in enumerate(ranks):
        n = net.widths[wire]
        keep = torch.eye(n, dtype=net.dtype, device=net.device)[: k + 1]
        net = _gauge(net, wire, keep, keep.T)
    return net


# ---------------------------------------------------------------------------------------
# The whole decomposition
# ---------------------------------------------------------------------------------------
@dataclass
class Decomposition:
    """The result of ``odt``: a gauge-fixed network (same function) and per-wire spectra.

    Attributes:
        network: symmetric, orthogonalised and diagonalised; coordinates of every wire sorted
            by importance, index 0 the constant.
        spectra: per wire, the global spectrum (eigenvalues of the downstream Gram, largest
            first) = squared singular values of the network unfolded at one copy of the wire.
        importance: per wire, the energy of each coordinate in the new basis (index 0 first).
        source: the symmetrised network before any gauge move (for the local baseline).
        local: per wire, the local-SVD spectrum of ``source`` (``local_spectra``), computed
            on first use.
    """

    network: Network
    spectra: list[Tensor]
    importance: list[Tensor]
    source: Network | None = None

    @cached_property
    def local(self) -> list[Tensor]:
        if self.source is None:
            raise ValueError("this decomposition keeps no source network for the local baseline")
        return local_spectra(self.source)

    @property
    def widths(self) -> list[int]:
        return self.network.widths

    def truncate(self, ranks) -> Network:
        return truncate(self.network, ranks)

    def effective_dimensions(self, energy: float = 0.99) -> list[int]:
        return [effective_dimension(s, energy) for s in self.spectra]

    def local_effective_dimensions(self, energy: float = 0.99) -> list[int]:
        return [effective_dimension(s, energy) for s in self.local]


def odt(model_or_network, device=None, dtype: torch.dtype = torch.float64,
        rtol: float = RTOL) -> Decomposition:
    """Orthogonalise, then diagonalise, a χ-net (``XNet``) or its ``Network``.

    Runs in ``dtype`` (float64 by default) on ``device`` (e.g. ``"cuda"``; default: where the
    network is). Truncate afterwards with ``Decomposition.truncate(ranks)``.
    """
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"odt runs in torch.float32 or torch.float64, got {dtype}")
    if device is not None:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' was asked for, but CUDA is not available on this "
                             "machine; pass device='cpu' (or None to stay where the model is)")
    if isinstance(model_or_network, XNet):
        net = to_network(model_or_network, dtype=dtype, device=device)
    elif isinstance(model_or_network, Network):
        net = model_or_network.to(device=device, dtype=dtype)
    else:
        raise TypeError(f"odt expects an XNet or a Network, got {type(model_or_network).__name__}"
                        f" (a ReLU/GELU baseline has no tensor-network form)")
    source = symmetrise(net)
    net, left_grams = _orthogonalise(source, rtol)
    net, spectra, importance = diagonalise(net, left_grams)
    return Decomposition(net, spectra, importance, source)


# ---------------------------------------------------------------------------------------
# Local SVD and effective dimension
# ---------------------------------------------------------------------------------------
def local_spectra(net: Network) -> list[Tensor]:
    """The per-layer baseline: for each wire, the squared singular values of the layer that
    reads it, flattened with that wire as rows, in the network's own coordinates (no global
    information). For a bilinear reader this is ``eig(Lᵀ[(DᵀD) ⊙ (R Rᵀ)]L)``; for the last
    wire, the head's ``eig(H₁ᵀ H₁)``."""
    net = symmetrise(net)
    out = []
    for layer in net.layers:
        m = layer.left.T @ ((layer.down.T @ layer.down) * sandwich(layer.right)) @ layer.left
        out.append(torch.linalg.eigvalsh(m).flip(0).clamp_min(0))
    out.append(torch.linalg.eigvalsh(net.head[1:].T @ net.head[1:]).flip(0).clamp_min(0))
    return out


def effective_dimension(spectrum: Tensor, energy: float = 0.99) -> int:
    """The number of directions needed to hold ``energy`` (default 99%) of the spectral
    energy ``Σ λᵢ`` (λ = squared singular values, largest first)."""
    if not 0 < energy <= 1:
        raise ValueError(f"energy must be in (0, 1], got {energy}")
    s = spectrum.sort(descending=True).values
    total = s.sum()
    if total <= 0:
        return 0
    cum = s.cumsum(0) / total
    return int((cum < energy - 1e-12).sum()) + 1


def participation_ratio(spectrum: Tensor) -> float:
    """``(Σ λ)² / Σ λ²``: a smooth effective dimension (1 for one direction, n for n equal)."""
    return float(spectrum.sum() ** 2 / (spectrum ** 2).sum())
