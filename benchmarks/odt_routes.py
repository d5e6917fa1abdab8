"""The three ODT routes the speed benchmark compares (benchmark-only code, not the package).

* ``ours``   — ``xnets_lite.core.odt.odt`` on the factored (L, R, D) layers: k×k Grams only.
* ``dense``  — the same algorithm (symmetrise, orthogonalise input → output, diagonalise
  output → input, truncate), written the way someone without the CP trick writes it: every
  layer as its full tensor ``B[o, i, j]`` (n_out × n_in × n_in) and every Gram and gauge
  move as a dense tensor contraction (each one O(n⁴)). Where the upstream Gram is the
  identity (after orthogonalising) it is not multiplied in, so the baseline does no
  wasted work.
* ``quimb``  — what a tensor-network user would reach for: the unrolled tree (head on top,
  ``2**L − 1`` dense layer nodes, ``2**L`` embedding leaves whose input index is open),
  canonicalised and compressed bond by bond by ``TensorNetwork.compress_all_tree``
  (it re-canonicalises the whole tree towards each bond, then SVD-truncates it).

All three see the *symmetrised* layer tensors ``(B + Bᵀ)/2`` (same function), so that every
copy of a wire has the same spectrum and the three routes compute the same numbers:
the global spectrum of a wire = squared singular values of the network unfolded at one copy
of that wire (``Decomposition.spectra``) = squared Schmidt values of the tree at that bond.
quimb is a bench-only extra (``pip install -e .[bench]``); it is imported lazily.
"""

from __future__ import annotations

import torch
from torch import Tensor

from xnets_lite.core.model import XNet
from xnets_lite.core.network import Network, to_network
from xnets_lite.core.odt import odt, whitening


def as_network(model_or_network, dtype=torch.float64) -> Network:
    if isinstance(model_or_network, XNet):
        return to_network(model_or_network, dtype=dtype)
    return model_or_network.to(dtype=dtype)


# ---------------------------------------------------------------------------------------
# ours
# ---------------------------------------------------------------------------------------
def ours(model, rank: int | None = None):
    """``odt(model)`` (float64, CPU), then, if ``rank`` is given, ``.truncate(rank)``."""
    dec = odt(model)
    return dec if rank is None else (dec, dec.truncate(min(rank, min(dec.widths) - 1)))


# ---------------------------------------------------------------------------------------
# dense: the naive route
# ---------------------------------------------------------------------------------------
def dense_tensors(net: Network) -> list[Tensor]:
    """Every layer as its symmetrised full tensor ``B[o, i, j]`` (n_out, n_in, n_in)."""
    out = []
    for layer in net.layers:
        b = layer.dense()
        out.append(0.5 * (b + b.transpose(1, 2)))
    return out


def dense_gram(b: Tensor, gram: Tensor | None = None) -> Tensor:
    """Upstream Gram of a layer's output, ``G'[o,p] = Σ B[o,i,j] G[i,a] G[j,b] B[p,a,b]``
    (``G = I`` when omitted: then just ``B₍ₒ₎ B₍ₒ₎ᵀ``, one n × n² × n contraction)."""
    if gram is not None:
        b_g = torch.einsum("oij,ia,jb->oab", b, gram, gram)
        return torch.tensordot(b_g, b, dims=([1, 2], [1, 2]))
    flat = b.reshape(b.shape[0], -1)
    return flat @ flat.T


def dense_propagate_down(b: Tensor, m: Tensor) -> Tensor:
    """Downstream Gram of a layer's (left) input copy, the other copy orthonormal:
    ``M_in[i,k] = Σ_{o,p,j} B[o,i,j] M[o,p] B[p,k,j]``."""
    mb = (m @ b.reshape(b.shape[0], -1)).reshape(b.shape)
    return torch.tensordot(b, mb, dims=([0, 2], [0, 2]))


def dense_gauge(embed, bs, head, wire, p, p_inv):
    """``w ← P w`` on one wire: producer ``P ×₀ B`` (or ``P E``), consumer ``B ×₁ P⁻ᵀ ×₂ P⁻ᵀ``."""
    bs = list(bs)
    if wire == 0:
        embed = p @ embed
    else:
        b = bs[wire - 1]
        bs[wire - 1] = (p @ b.reshape(b.shape[0], -1)).reshape(p.shape[0], *b.shape[1:])
    if wire == len(bs):
        head = head @ p_inv
    else:
        bs[wire] = torch.einsum("oab,ai,bj->oij", bs[wire], p_inv, p_inv)
    return embed, bs, head


def dense_odt(model_or_network, rank: int | None = None, rtol: float = 1e-12):
    """The same algorithm as ``xnets_lite.core.odt.odt`` on dense layer tensors.

    Returns ``dict(embed, layers, head, spectra, importance)`` (and, with ``rank``, the
    truncated ``embed``/``layers``/``head`` under ``"truncated"``).
    """
    net = as_network(model_or_network)
    embed, bs, head = net.embed, dense_tensors(net), net.head
    n_wires = len(bs) + 1
    # orthogonalise, input → output (whitening is the same n×n routine as ours)
    gram = embed @ embed.T
    for wire in range(n_wires):
        if wire > 0:
            gram = dense_gram(bs[wire - 1])
        p, p_inv = whitening(gram, rtol)
        embed, bs, head = dense_gauge(embed, bs, head, wire, p, p_inv)
    # diagonalise, output → input
    spectra, importance = [None] * n_wires, [None] * n_wires
    m = head[1:].T @ head[1:]
    for wire in reversed(range(n_wires)):
        spectra[wire] = torch.linalg.eigvalsh(m).flip(0).clamp_min(0)
        _, vecs = torch.linalg.eigh(m[1:, 1:])
        q = torch.zeros_like(m)
        q[0, 0] = 1
        q[1:, 1:] = vecs.flip(1).T
        embed, bs, head = dense_gauge(embed, bs, head, wire, q, q.T)
        m = q @ m @ q.T
        importance[wire] = m.diagonal().clamp_min(0).clone()
        if wire > 0:
            m = dense_propagate_down(bs[wire - 1], m)
    out = dict(embed=embed, layers=bs, head=head, spectra=spectra, importance=importance)
    if rank is not None:
        k = min(rank, min(s.shape[0] for s in spectra) - 1) + 1
        out["truncated"] = dict(
            embed=embed[:k], head=head[:, :k], layers=[b[:k, :k, :k].contiguous() for b in bs]
        )
    return out


def dense_norm2(embed: Tensor, layers: list[Tensor], head: Tensor) -> float:
    """Squared Frobenius norm of a dense-form network over its logit rows (head rows 1:)."""
    gram = embed @ embed.T
    for b in layers:
        gram = dense_gram(b, gram)
    return float(torch.einsum("ci,ij,cj->", head[1:], gram, head[1:]))


# ---------------------------------------------------------------------------------------
# quimb: the unrolled tree, canonicalised and compressed
# ---------------------------------------------------------------------------------------
def quimb_tree(model_or_network):
    """The unrolled tree tensor network of the (symmetrised) network as a quimb
    ``TensorNetwork`` with numpy data: head ``H[1:]`` (open index ``c``), one dense node
    per layer copy, one embedding leaf per input copy (open index ``x{copy}``).

    Bond names are ``w{wire}_{path}`` (path = the copy's left/right route from the top),
    so the wire a bond belongs to can be read from its name.
    """
    import quimb.tensor as qtn

    net = as_network(model_or_network)
    bs = [b.numpy() for b in dense_tensors(net)]
    n_layers = len(bs)
    tensors = [qtn.Tensor(net.head[1:].numpy(), inds=("c", f"w{n_layers}_"), tags={"head"})]
    copy = 0

    def grow(wire: int, path: str):
        nonlocal copy
        if wire == 0:
            tensors.append(
                qtn.Tensor(
                    net.embed.numpy(),
                    inds=(f"w0_{path}", f"x{copy}"),
                    tags={"embed", f"copy{copy}"},
                )
            )
            copy += 1
            return
        tensors.append(
            qtn.Tensor(
                bs[wire - 1],
                inds=(f"w{wire}_{path}", f"w{wire - 1}_{path}l", f"w{wire - 1}_{path}r"),
                tags={f"layer{wire - 1}", f"path_{path}"},
            )
        )
        grow(wire - 1, path + "l")
        grow(wire - 1, path + "r")

    grow(n_layers, "")
    return qtn.TensorNetwork(tensors)


def quimb_compress(model_or_network, max_bond: int | None, **opts):
    """Build the tree and run ``compress_all_tree(max_bond=...)`` on it (in place)."""
    tn = quimb_tree(model_or_network)
    tn.compress_all_tree_(max_bond=max_bond, **opts)
    return tn


def quimb_spectra(model_or_network) -> dict[int, list]:
    """Global spectra from quimb's own canonicalise-and-compress (no truncation): after each
    bond's compression the tree is canonical towards the bond's inner tensor, so the
    singular values of that tensor, split at the bond, are the bond's Schmidt values.
    Returns ``{wire: [squared Schmidt values of every copy of that wire]}``. Tests only."""
    import numpy as np

    found: dict[int, list] = {}

    def record(tn, tids):
        ta, tb = (tn.tensor_map[t] for t in tids)
        (bond,) = set(ta.inds) & set(tb.inds)
        rest = [i for i in tb.inds if i != bond]
        mat = tb.transpose(bond, *rest).data.reshape(tb.ind_size(bond), -1)
        s = np.linalg.svd(mat, compute_uv=False)
        found.setdefault(int(bond[1:].split("_")[0]), []).append(s**2)

    quimb_compress(model_or_network, max_bond=None, cutoff=0.0, callback=record)
    return found
