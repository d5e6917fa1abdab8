"""ODT — orthogonalise, diagonalise, truncate: an SVD for deep bilinear networks.

All three steps are *gauge transformations* of the wires: an invertible map ``P`` applied to
a wire's producer (``D ← P D``) and its inverse to every consumer (``L ← L P⁻¹``,
``R ← R P⁻¹``). The function never changes; only the basis of each wire does. Everything
works on the factored (L, R, D) layers, so the cost is that of k×k Gram matrices
(k = hidden size), never of k³ layer tensors or of the 2^L-copy unrolled tree.

Every Gram refers to the **symmetrised** tree: each layer read as ``½(L ⊗ R + R ⊗ L)``
(the same function, ``network.symmetrise``), so that every copy of a wire is equal. For a
symmetric layer (``L = R``) the formulas below reduce to the familiar
``G_{l+1} = D [(L G_l Lᵀ) ⊙ (L G_l Lᵀ)] Dᵀ`` and ``M_l = Lᵀ [(Dᵀ M_{l+1} D) ⊙ (L G_l Lᵀ)] L``;
for a general one they are computed from L and R directly, without symmetrising first (which
would double the hidden size). Two Grams per wire (each n×n):

* the **upstream Gram** ``G``: inner products of the wire's coordinates as tensors over the
  input copies below it (``layer_gram``), starting at ``E Eᵀ``;
* the **downstream Gram** ``M``: the same for the rest of the network above one copy
  (``propagate_down``), starting at the head's ``Hᵀ H``.

With ``G = I`` (after orthogonalising) the eigenvalues of ``M`` are the squared singular
values of the whole network unfolded at one copy of the wire: its **global spectrum**.

The constant coordinate (index 0, the "1" biases multiply) stays index 0 throughout: the
rotations act on the other coordinates after removing their overlap with the constant
(a Gram–Schmidt step), so a wire keeps a dedicated constant direction that carries the
biases, the residual's linear terms and the logit offsets. It is never truncated.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import torch
from torch import Tensor

from xnets_lite.core.model import XNet
from xnets_lite.core.network import (
    BilinearLayer,
    Network,
    check_saved_format,
    parse_to,
    symmetrise,
    to_network,
)

#: Directions kept per wire: one int for every wire, or one per wire (wire 0 first).
Ranks = int | Sequence[int]

#: Which layer's local SVD stands for a wire: the one that reads it, or the one that writes it.
View = Literal["reader", "writer"]
LOCAL_VIEWS = get_args(View)

#: Directions whose upstream Gram eigenvalue is below ``RTOL`` times the largest carry no
#: function (numerically zero); orthogonalising drops them.
RTOL = 1e-12

#: The ``format`` field of a saved decomposition (part of the file format).
DECOMPOSITION_FORMAT = "xnets-lite/decomposition/1"


# ---------------------------------------------------------------------------------------
# Grams
# ---------------------------------------------------------------------------------------
def sandwich(a: Tensor, gram: Tensor | None = None, b: Tensor | None = None) -> Tensor:
    """``A G Bᵀ`` (``B = A`` if omitted); ``gram=None`` stands for the identity."""
    b = a if b is None else b
    return a @ b.T if gram is None else a @ gram @ b.T


def pair_grams(layer: BilinearLayer, gram: Tensor | None = None) -> tuple[Tensor, ...]:
    """``(L G Lᵀ, R G Rᵀ, L G Rᵀ)`` of a layer's inputs (k, k) each; just ``(L G Lᵀ,)`` for
    a symmetric layer. Rotating the input wire leaves them unchanged."""
    lgl = sandwich(layer.left, gram)
    if layer.is_symmetric:
        return (lgl,)
    return lgl, sandwich(layer.right, gram), sandwich(layer.left, gram, layer.right)


def layer_gram(
    layer: BilinearLayer, gram: Tensor | None = None, pairs: tuple[Tensor, ...] | None = None
) -> Tensor:
    """Upstream Gram of a layer's output (n_out, n_out), from that of its input ``gram``
    (``None`` = identity):

        ½ D [(L G Lᵀ) ⊙ (R G Rᵀ) + (L G Rᵀ) ⊙ (R G Lᵀ)] Dᵀ,

    i.e. ``D [(L G Lᵀ) ⊙ (L G Lᵀ)] Dᵀ`` when ``L = R``. ``pairs`` may pass ``pair_grams``.
    """
    pairs = pair_grams(layer, gram) if pairs is None else pairs
    if len(pairs) == 1:
        inner = pairs[0] * pairs[0]
    else:
        lgl, rgr, lgr = pairs
        inner = 0.5 * (lgl * rgr + lgr * lgr.T)
    return layer.down @ inner @ layer.down.T


def upstream_grams(net: Network) -> list[Tensor]:
    """The upstream Gram of every wire (input Gram = identity), from input to output."""
    gram = net.embed @ net.embed.T
    grams = [gram]
    for layer in net.layers:
        gram = layer_gram(layer, gram)
        grams.append(gram)
    return grams


def propagate_down(
    layer: BilinearLayer,
    m: Tensor,
    gram: Tensor | None = None,
    pairs: tuple[Tensor, ...] | None = None,
) -> Tensor:
    """Downstream Gram of one input copy of a layer, from that of its output.

    With ``A = Dᵀ M D`` and ``G`` the upstream Gram of the input wire (``None`` = identity,
    i.e. after orthogonalising), for the symmetrised layer:

        M_in = ¼ [Lᵀ(A ⊙ RGRᵀ)L + Lᵀ(A ⊙ RGLᵀ)R + Rᵀ(A ⊙ LGRᵀ)L + Rᵀ(A ⊙ LGLᵀ)R],

    i.e. ``Lᵀ [(Dᵀ M D) ⊙ (L G Lᵀ)] L`` when ``L = R``. ``m`` may be batched
    (…, n_out, n_out), e.g. one Gram per class. ``pairs`` may pass ``pair_grams``.
    """
    pairs = pair_grams(layer, gram) if pairs is None else pairs
    inner = layer.down.T @ m @ layer.down
    if len(pairs) == 1:
        return layer.left.T @ (inner * pairs[0]) @ layer.left
    lgl, rgr, lgr = pairs
    left, right = layer.left, layer.right
    from_left = (inner * rgr) @ left + (inner * lgr.T) @ right
    from_right = (inner * lgr) @ left + (inner * lgl) @ right
    return 0.25 * (left.T @ from_left + right.T @ from_right)


def downstream_grams(net: Network, head_gram: Tensor | None = None) -> list[Tensor]:
    """Downstream Gram of (any copy of) every wire, from the head down.

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
def gauge(net: Network, wire: int, p: Tensor, p_inv: Tensor) -> Network:
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
        raise ValueError(
            "the constant coordinate of a wire has zero norm: index 0 must be the "
            "homogeneous coordinate (build the network with to_network)"
        )
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

    Args:
        net: any ``Network``.
        rtol: relative threshold below which a Gram eigenvalue counts as zero.

    Returns:
        The same function with every upstream Gram the identity (marked orthonormal, so
        ``diagonalise`` accepts it).

    Shapes:
        wire l keeps its constant plus its non-null directions (≤ n_l coordinates).

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> net = xl.to_network(xl.XNet(d_input=9, d_model=6, n_classes=3, n_layers=2))
        >>> ortho = xl.orthogonalise(net)
        >>> g = upstream_grams(ortho)[1]
        >>> torch.allclose(g, torch.eye(len(g), dtype=g.dtype), atol=1e-8)
        True
    """
    return _orthogonalise(net, rtol)[0]


def _orthogonalise(net: Network, rtol: float) -> tuple[Network, list[tuple[Tensor, ...]]]:
    """``orthogonalise``, also returning every layer's ``pair_grams`` in the final basis (the
    diagonalising rotations leave them unchanged, so ``diagonalise`` can reuse them)."""
    gram, pairs = sandwich(net.embed), []
    for wire in range(len(net.layers) + 1):
        if wire > 0:
            # the wire below is orthonormal now: its Gram is the identity, and this layer's
            # L and R are final up to rotations of that wire
            layer = net.layers[wire - 1]
            pairs.append(pair_grams(layer))
            gram = layer_gram(layer, pairs=pairs[-1])
        p, p_inv = whitening(gram, rtol)
        net = gauge(net, wire, p, p_inv)
    net.meta["basis"] = "orthonormal"
    return net, pairs


def diagonalise(
    net: Network, pairs: list[tuple[Tensor, ...]] | None = None
) -> tuple[Network, list[Tensor], list[Tensor]]:
    """Output → input: rotate every wire so its downstream Gram is diagonal.

    Needs an orthogonalised network (upstream Grams = I). From the head's ``Hᵀ H`` down,
    ``M_l = propagate_down(layer_l, M_{l+1})`` (``Lᵀ [(Dᵀ M D) ⊙ (L Lᵀ)] L`` for a
    symmetric layer); the eigenvectors of its
    non-constant block ``M[1:,1:]`` (largest first) are folded into the producer and, as their
    transpose, into the consumers. Rotations keep the upstream Grams equal to I.

    Returns the rotated network, the **global spectrum** of every wire (all eigenvalues of
    ``M``, largest first: the squared singular values of the network unfolded at one copy of
    the wire) and the **importance** of every coordinate in the new basis (``diag M``;
    index 0 = the constant, then the non-constant eigenvalues, largest first).
    ``pairs`` (each layer's ``pair_grams``, from ``_orthogonalise``) saves recomputing them.

    Args:
        net: an orthogonalised ``Network`` (``orthogonalise(net)``); anything else is refused.
        pairs: optional, see above.

    Returns:
        ``(network, spectra, importance)``; ``odt`` wraps them in a ``Decomposition``.

    Shapes:
        ``spectra[l]``, ``importance[l]``: (n_l,) per wire.

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> net = xl.to_network(xl.XNet(d_input=9, d_model=6, n_classes=3, n_layers=2))
        >>> diag, spectra, importance = xl.diagonalise(xl.orthogonalise(net))
        >>> [len(s) for s in spectra] == diag.widths
        True
    """
    if not isinstance(net, Network):
        raise TypeError(
            f"diagonalise expects an orthogonalised Network (orthogonalise(net)), got "
            f"{type(net).__name__}; odt(model) runs both steps"
        )
    if net.meta.get("basis") not in ("orthonormal", "decomposed"):
        gram_error = max(
            float((g - torch.eye(len(g), dtype=g.dtype, device=g.device)).abs().max())
            for g in upstream_grams(net)
        )
        if gram_error > 1e-6:
            raise ValueError(
                f"diagonalise needs an orthogonalised network (every upstream Gram the "
                f"identity), but this one's Grams are off by up to {gram_error:.3g}; call "
                f"orthogonalise(net) first, or odt(net), which runs both steps"
            )
    n_wires = len(net.layers) + 1
    spectra, importance = [None] * n_wires, [None] * n_wires
    m = net.head[1:].T @ net.head[1:]
    for wire in reversed(range(n_wires)):
        spectra[wire] = torch.linalg.eigvalsh(m).flip(0).clamp_min(0)
        evals, vecs = torch.linalg.eigh(m[1:, 1:])
        q = torch.zeros_like(m)
        q[0, 0] = 1
        q[1:, 1:] = vecs.flip(1).T
        net = gauge(net, wire, q, q.T)
        m = q @ m @ q.T
        importance[wire] = m.diagonal().clamp_min(0).clone()
        if wire > 0:
            known = None if pairs is None else pairs[wire - 1]
            m = propagate_down(net.layers[wire - 1], m, pairs=known)
    net.meta["basis"] = "decomposed"
    return net, spectra, importance


def as_int(k) -> int | None:
    """``k`` as an int when it is integer-like (int, numpy or 0-d torch integer), else None;
    bools are not ranks."""
    if isinstance(k, bool) or getattr(k, "dtype", None) == torch.bool:
        return None
    if isinstance(k, Tensor):
        if k.dim() != 0 or k.is_floating_point() or k.is_complex():
            return None
        return int(k)
    try:
        return operator.index(k)
    except TypeError:
        return None


def check_ranks(widths: list[int], ranks: Ranks) -> list[int]:
    """Normalise ``ranks`` (int, or one int per wire) to a list; clear errors otherwise."""
    n_wires = len(widths)
    if isinstance(ranks, Tensor) and ranks.dim() == 1:
        ranks = ranks.tolist()
    if as_int(ranks) is not None:
        ranks = [as_int(ranks)] * n_wires
    elif isinstance(ranks, (list, tuple)) or (
        hasattr(ranks, "__len__") and hasattr(ranks, "__iter__") and not isinstance(ranks, str)
    ):
        ranks = [r if as_int(r) is None else as_int(r) for r in ranks]
    else:
        raise TypeError(
            f"ranks must be an int or a list of {n_wires} ints (one per wire), "
            f"got {type(ranks).__name__}"
        )
    if len(ranks) != n_wires:
        raise ValueError(
            f"got {len(ranks)} ranks for a network with {n_wires} wires; "
            f"give one rank per wire (wire 0 = after the embedding)"
        )
    for wire, (k, n) in enumerate(zip(ranks, widths)):
        if as_int(k) is None:
            raise TypeError(f"rank of wire {wire} must be an int, got {k!r}")
        if k < 0 or k > n - 1:
            raise ValueError(
                f"rank {k} for wire {wire} is out of range: that wire has {n - 1} "
                f"directions besides the constant, so choose 0 ≤ rank ≤ {n - 1}"
            )
    return ranks


def truncate(net: Network, ranks: Ranks) -> Network:
    """Keep the constant and the first ``ranks[l]`` directions of every wire.

    A diagonalised network's coordinates are sorted by importance, so the result is the ODT
    truncation; an undecomposed network is refused (its first coordinates mean nothing).
    Producer rows and consumer columns are cut; the network still runs and is smaller.

    Args:
        net: ``odt(model).network`` (or the ``Decomposition`` itself).
        ranks: directions kept per wire besides the constant: an int for every wire or one
            per wire (ints, numpy or 0-d torch integers).

    Returns:
        The truncated ``Network``.

    Shapes:
        wire l gets ``ranks[l] + 1`` coordinates.

    Example::

        >>> import numpy as np, torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> dec = xl.odt(xl.XNet(d_input=9, d_model=6, n_classes=3, n_layers=2))
        >>> xl.truncate(dec, np.int64(2)).widths
        [3, 3, 3]
    """
    if isinstance(net, Decomposition):
        net = net.network
    if not isinstance(net, Network):
        raise TypeError(
            f"truncate expects a decomposed Network (odt(model).network) or a Decomposition, "
            f"got {type(net).__name__}"
        )
    if net.meta.get("basis") != "decomposed":
        raise ValueError(
            "truncate keeps the first ranks[l] coordinates of every wire, which are its most "
            "important directions only after ODT sorted them; this network was not decomposed. "
            "Use odt(net).truncate(ranks) (or truncate(diagonalise(orthogonalise(net))[0], ...))"
        )
    ranks = check_ranks(net.widths, ranks)
    for wire, k in enumerate(ranks):
        n = net.widths[wire]
        keep = torch.eye(n, dtype=net.dtype, device=net.device)[: k + 1]
        net = gauge(net, wire, keep, keep.T)
    return net


# ---------------------------------------------------------------------------------------
# The whole decomposition
# ---------------------------------------------------------------------------------------
@dataclass
class Decomposition:
    """The result of ``odt``: a gauge-fixed network (same function) and per-wire spectra.

    ``dec.truncate(ranks)`` / ``dec.truncate(energy=0.99)`` cut it, ``dec.to(...)`` moves
    it, ``dec.state_dict()`` / ``saving.save`` keep it. Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> xl.odt(xl.XNet(d_input=9, d_model=6, n_classes=3, n_layers=2))
        Decomposition(widths=[7, 7, 7], ranks_for(0.99)=[...], n_classes=3, ...)

    Attributes:
        network: orthogonalised and diagonalised (every Gram of its symmetrised tree);
            coordinates of every wire sorted by importance, index 0 the constant.
        spectra: per wire, the global spectrum (eigenvalues of the downstream Gram, largest
            first) = squared singular values of the network unfolded at one copy of the wire.
        importance: per wire, the energy of each coordinate in the new basis (index 0 first).
        source: the network before any gauge move (for the local baseline).
        local: per wire, the reader-view local-SVD spectrum of ``source``
            (``local_spectra(source)``), computed on first use; ``local_spectra(view)``
            gives either view.
    """

    network: Network
    spectra: list[Tensor]
    importance: list[Tensor]
    source: Network | None = None
    _local: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def local_spectra(self, view: View = "reader") -> list[Tensor]:
        """The local-SVD baseline of ``source`` in ``view`` ``"reader"`` (default) or
        ``"writer"`` (see the module function ``local_spectra``), computed once per view."""
        check_view(view)
        if self.source is None:
            raise ValueError("this decomposition keeps no source network for the local baseline")
        if view not in self._local:
            self._local[view] = local_spectra(self.source, view)
        return self._local[view]

    @property
    def local(self) -> list[Tensor]:
        return self.local_spectra("reader")

    @property
    def widths(self) -> list[int]:
        return self.network.widths

    def ranks_for(self, energy: float) -> list[int]:
        """Per wire, the fewest directions whose importance holds ``energy`` of the wire's
        total (the constant coordinate is always kept and not counted): the rank
        ``truncate(energy=...)`` keeps. Directions are the wire's coordinates in the
        decomposed basis, already sorted by importance."""
        return [effective_dimension(imp[1:], energy) for imp in self.importance]

    def truncate(self, ranks: Ranks | None = None, *, energy: float | None = None) -> Network:
        """The truncated network: ``ranks`` (an int, or one per wire) directions kept, or, with
        ``energy``, on every wire the fewest that keep that share of its importance.

        ``energy=e`` discards, per wire, the least important directions as long as their
        importances (squared singular values) sum to at most ``1 − e`` of the wire's total:
        quimb's ``cutoff_mode='rsum2'`` ("trim s.t. ``sum(s_trim**2) < sum(s**2) * cutoff``")
        with ``cutoff = 1 − e`` (up to ties at the bound). ``ranks_for(e)`` gives the ranks.

        Examples::

            >>> import torch
            >>> from xnets_lite.core.model import XNet
            >>> _ = torch.manual_seed(0)
            >>> dec = odt(XNet(d_input=9, d_model=6, n_classes=3, n_layers=2))
            >>> small = dec.truncate(energy=0.9)
            >>> [w - 1 for w in small.widths] == dec.ranks_for(0.9)
            True
            >>> dec.truncate(ranks=dec.ranks_for(0.9)).widths == small.widths
            True
        """
        if (ranks is None) == (energy is None):
            raise TypeError(
                "truncate needs exactly one of ranks (directions per wire) or "
                "energy (the share of each wire's importance to keep, e.g. 0.99)"
            )
        if energy is not None:
            ranks = self.ranks_for(energy)
        return truncate(self.network, ranks)

    def effective_dimensions(self, energy: float = 0.99) -> list[int]:
        """Per wire, the number of **global singular directions** (eigenvalues of the
        downstream Gram, ``spectra``) holding ``energy`` of the total, the constant's share
        **included**. ``ranks_for(energy)`` counts something else: the non-constant
        coordinates ``truncate`` keeps (``importance[1:]``), so it can be larger than
        ``effective_dimensions(energy) - 1`` when the constant mixes with the other
        directions. Use ``ranks_for`` to choose ranks, this one to compare spectra.

        Example::

            >>> import torch
            >>> from xnets_lite.core.model import XNet
            >>> _ = torch.manual_seed(0)
            >>> dec = odt(XNet(d_input=9, d_model=6, n_classes=3, n_layers=2))
            >>> len(dec.effective_dimensions()) == len(dec.ranks_for(0.99)) == 3
            True
        """
        return [effective_dimension(s, energy) for s in self.spectra]

    def to(self, *args, **kwargs) -> Decomposition:
        """A copy on another device / in another dtype, called like ``Tensor.to``
        (``dec.to(torch.float32)``, ``dec.to("cuda")``); ``self`` when nothing changes."""
        device, dtype = parse_to(args, kwargs)
        if (device is None or device == self.network.device) and (
            dtype is None or dtype == self.network.dtype
        ):
            return self
        fn = lambda t: t.to(device=device, dtype=dtype)  # noqa: E731
        return Decomposition(
            self.network.map(fn),
            [fn(s) for s in self.spectra],
            [fn(s) for s in self.importance],
            None if self.source is None else self.source.map(fn),
        )

    @property
    def dtype(self) -> torch.dtype:
        return self.network.dtype

    @property
    def device(self) -> torch.device:
        return self.network.device

    def __repr__(self) -> str:
        return (
            f"Decomposition(widths={self.widths}, ranks_for(0.99)={self.ranks_for(0.99)}, "
            f"n_classes={self.network.n_classes}, "
            f"dtype={str(self.dtype).removeprefix('torch.')}, device={self.device})"
        )

    def state_dict(self) -> dict:
        """Plain tensors + JSON-able metadata, loadable with ``torch.load(weights_only=True)``
        (``Decomposition.from_state_dict``; ``saving.save`` writes it to a file)."""
        return {
            "format": DECOMPOSITION_FORMAT,
            "network": self.network.state_dict(),
            "spectra": list(self.spectra),
            "importance": list(self.importance),
            "source": None if self.source is None else self.source.state_dict(),
        }

    @classmethod
    def from_state_dict(cls, state: dict) -> Decomposition:
        """The decomposition saved by ``state_dict`` (bit-exact)."""
        check_saved_format(
            state, DECOMPOSITION_FORMAT, "Decomposition.from_state_dict", "decomposition"
        )
        source = state.get("source")
        return cls(
            Network.from_state_dict(state["network"]),
            list(state["spectra"]),
            list(state["importance"]),
            None if source is None else Network.from_state_dict(source),
        )

    def local_effective_dimensions(self, energy: float = 0.99, view: View = "reader") -> list[int]:
        """Per wire, the ``effective_dimension`` of the local-SVD spectrum in ``view``."""
        return [effective_dimension(s, energy) for s in self.local_spectra(view)]


def odt(
    model_or_network: XNet | Network,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    rtol: float = RTOL,
) -> Decomposition:
    """Orthogonalise, then diagonalise, a χ-net (``XNet``) or its ``Network``: the ODT.

    Every step is a gauge transformation, so ``dec.network`` computes the same function;
    its wires are orthonormal and sorted by importance, ready for ``Decomposition.truncate``.

    Args:
        model_or_network: an ``XNet``, or a ``Network`` (``from_module(model)`` for your
            own bilinear model, ``from_factors`` for its weights).
        device: where to compute (e.g. ``"cuda"``; default: where the network is).
        dtype: torch.float64 (default) or torch.float32.
        rtol: directions whose upstream Gram eigenvalue is below ``rtol`` × the largest are
            numerically zero and dropped.

    Returns:
        A ``Decomposition``: ``network``, per-wire ``spectra`` and ``importance``, ``source``.

    Shapes:
        ``spectra[l]``, ``importance[l]``: (n_l,) for a wire of n_l coordinates (constant
        included); ``dec.network(x)``: (batch, d_input) → (batch, n_classes).

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> model = xl.XNet(d_input=16, d_model=8, n_classes=3, n_layers=2).double().eval()
        >>> dec = xl.odt(model)
        >>> x = torch.randn(4, 16, dtype=torch.float64)
        >>> torch.allclose(dec.network(x), model(x))
        True
        >>> dec.truncate(energy=0.99).widths <= dec.widths
        True
    """
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"odt runs in torch.float32 or torch.float64, got {dtype}")
    if device is not None:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                "device='cuda' was asked for, but CUDA is not available on this "
                "machine; pass device='cpu' (or None to stay where the model is)"
            )
    if isinstance(model_or_network, XNet):
        net = to_network(model_or_network, dtype=dtype, device=device)
    elif isinstance(model_or_network, Network):
        net = model_or_network.to(device=device, dtype=dtype)
    else:
        if isinstance(model_or_network, Decomposition):
            raise TypeError("odt got a Decomposition: it is already decomposed (use it as is)")
        raise TypeError(
            f"odt expects an XNet or a Network, got {type(model_or_network).__name__}: for "
            f"your own bilinear nn.Module call odt(xnets_lite.from_module(model)) (or "
            f"from_factors(...) with its weights); a ReLU/GELU model has no tensor-network form"
        )
    # No explicit symmetrise: the Grams are those of the symmetrised tree, computed from L
    # and R directly at half the cost (symmetrising doubles the hidden size).
    source = net
    net, pairs = _orthogonalise(net, rtol)
    net, spectra, importance = diagonalise(net, pairs)
    return Decomposition(net, spectra, importance, source)


# ---------------------------------------------------------------------------------------
# Local SVD and effective dimension
# ---------------------------------------------------------------------------------------
def check_view(view: View) -> View:
    if view not in LOCAL_VIEWS:
        raise ValueError(
            f"view must be 'reader' (the layer that reads each wire) or 'writer' "
            f"(the layer that produces it), got {view!r}"
        )
    return view


def local_spectra(net: Network, view: View = "reader") -> list[Tensor]:
    """The per-layer baseline: for each wire, the squared singular values of **one** layer
    next to it, flattened with the wire as rows, in the network's own coordinates (no
    information from the rest of the network, no gauge fixing). One spectrum per wire (wire
    0 = after the embedding, …, wire L = read by the head), largest first, ``n`` values for a
    wire of size ``n``: both views count the wire's constant coordinate (index 0) as one of
    its rows, as the global spectra of ``odt`` do. Every bilinear layer is read in its
    symmetrised form ``½(L ⊗ R + R ⊗ L)`` (the same function; ``network.symmetrise``), as
    ODT reads it.

    ``view="reader"`` (default): the layer that **reads** the wire, one of its input indices
    as rows and its other two indices (the other input copy and the output wire, constant
    coordinates included) as columns. For a bilinear reader ``eig(Lᵀ[(DᵀD) ⊙ (L Lᵀ)]L)``
    with the symmetrised L, i.e. the downstream Gram with identity Grams above and beside
    it; for the last wire the head's logit rows, ``eig(H₁ᵀ H₁)`` (rank ≤ n_classes: the
    scale row 0 is bookkeeping).

    ``view="writer"``: the layer that **produces** the wire, its output index as rows and its
    inputs as columns: for wire 0 the embedding ``E = [[1, 0], [b, W]]`` over ``x̃ = [1, x]``,
    ``eig(E Eᵀ)``; for wire l+1 bilinear layer l flattened to (n_{l+1}, n_l²), whose Gram is
    ``D[(LLᵀ) ⊙ (RRᵀ)]Dᵀ`` for L = R and in general, symmetrised,
    ``½ D[(LLᵀ) ⊙ (RRᵀ) + (LRᵀ) ⊙ (RLᵀ)]Dᵀ`` (``layer_gram`` with an identity input Gram):
    the upstream Gram with an orthonormal wire below. Computed from k×k Grams, never from
    the (n, n²) matrix. The un-symmetrised ``D[(LLᵀ) ⊙ (RRᵀ)]Dᵀ`` would add the energy of
    the antisymmetric part of the layer, which does nothing to its function.

    Args:
        net: any ``Network`` (read in its own coordinates).
        view: ``"reader"`` or ``"writer"``.

    Returns:
        One spectrum per wire, largest first.

    Shapes:
        ``out[l]``: (n_l,).

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> net = xl.to_network(xl.XNet(d_input=9, d_model=6, n_classes=3, n_layers=2))
        >>> [len(s) for s in xl.local_spectra(net)] == net.widths
        True
    """
    check_view(view)

    def spectrum(gram: Tensor) -> Tensor:
        return torch.linalg.eigvalsh(gram).flip(0).clamp_min(0)

    if view == "writer":
        return [spectrum(sandwich(net.embed))] + [
            spectrum(layer_gram(layer)) for layer in net.layers
        ]
    net = symmetrise(net)
    out = []
    for layer in net.layers:
        m = layer.left.T @ ((layer.down.T @ layer.down) * sandwich(layer.right)) @ layer.left
        out.append(spectrum(m))
    out.append(spectrum(net.head[1:].T @ net.head[1:]))
    return out


def effective_dimension(spectrum: Tensor, energy: float = 0.99) -> int:
    """The number of directions needed to hold ``energy`` (default 99%) of the spectral
    energy ``Σ λᵢ`` (λ = squared singular values, largest first).

    Args:
        spectrum: (n,) non-negative values (any order).
        energy: the share to hold, in (0, 1].

    Returns:
        The fewest values whose sum reaches ``energy`` of the total (0 for a zero spectrum).

    Example::

        >>> import torch
        >>> effective_dimension(torch.tensor([5.0, 3.0, 1.0, 1.0]), 0.8)
        2
    """
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
    return float(spectrum.sum() ** 2 / (spectrum**2).sum())
