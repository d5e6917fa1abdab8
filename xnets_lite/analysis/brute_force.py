"""Brute-force views of a tiny ``Network``, the references notebook 00 and the tests check
ODT's Gram recursions against: ``wire_polynomials`` (a wire's coordinates as coefficient
tensors), ``network_above`` (the rest of the network, read from one wire) and ``inertia``
(the eigenvalue signs of a quadratic form). Exponential in depth: tiny networks only.
"""

from __future__ import annotations

import torch

from xnets_lite.core.network import Network


# ---------------------------------------------------------------------------------------
# Brute force on tiny networks (notebook 00 checks the Gram recursions against these)
# ---------------------------------------------------------------------------------------
def wire_polynomials(net, wire: int) -> torch.Tensor:
    """The coordinates of wire ``wire`` as polynomials of the input: a tensor of shape
    ``(n_wire, (d_input + 1) ** (2 ** wire))``, row i the coefficients of ``w_i`` over the
    ``2**wire`` copies of ``x̃ = [1, x]`` below the wire (copies in tree order, flattened).

    ``w_i(x) = Σ_J T[i, J] x̃_{j1} ⋯ x̃_{jN}``, so ``T @ Tᵀ`` is the wire's upstream Gram under
    the inner product "sum of products of coefficients". Pass ``network.symmetrise(net)``
    for the Grams ODT uses (every layer read as ``½(L ⊗ R + R ⊗ L)``). Tiny networks only
    (built with ``Network.dense``).

    Example::

        T = wire_polynomials(symmetrise(net), 1)
        torch.allclose(T @ T.T, odt.upstream_grams(net)[1])   # True
    """
    _check_wire(net, wire)
    n = net.widths[wire]
    below = net.replace(
        layers=net.layers[:wire], head=torch.eye(n, dtype=net.dtype, device=net.device)
    )
    return below.dense(include_scale=True).reshape(n, -1)


def network_above(net, wire: int):
    """The part of ``net`` above wire ``wire`` (layers ``wire+1 …`` and the head) as a
    ``Network`` whose input is that wire: its embedding is the identity, so its dense tensor
    ``U[c, a₁, …, a_M]`` has one leg per copy of the wire (``M = 2**(L − wire)``), each indexed
    by the wire's coordinates, constant (index 0) included.

    With ``G`` the wire's upstream Gram, the downstream Gram of one copy is ``U`` contracted
    with itself over the class and every other copy, those through ``G``; for ``M = 2``:
    ``einsum("cab,cxy,by->ax", U, U, G)``. Tiny networks only.
    """

    _check_wire(net, wire)
    n = net.widths[wire]
    return Network(
        torch.eye(n, dtype=net.dtype, device=net.device),
        net.layers[wire:],
        net.head,
        dict(net.meta),
    )


def inertia(matrices: torch.Tensor, tol: float = 1e-10) -> tuple[list[int], list[int]]:
    """How many positive and how many negative eigenvalues the symmetric part
    ``½(Q + Qᵀ)`` of each matrix ``Q`` has: two lists, one entry per matrix of ``matrices``
    (…, d, d), counting eigenvalues above ``tol`` and below ``-tol``.

    ``xᵀQx`` sees only ``½(Q + Qᵀ)``. For a bilinear layer, ``Q_o = Σ_h D_oh l_h r_hᵀ`` and
    ``½(Q_o + Q_oᵀ)`` is a sum of ``h`` terms ``D_oh · ½(l_h r_hᵀ + r_h l_hᵀ)``, each with at
    most one positive and one negative eigenvalue, so both counts are at most ``h``.

    Example::

        B = torch.einsum("oh,hi,hj->oij", D, L, R)     # D: (o, h), L, R: (h, d)
        positive, negative = inertia(B)                # max(positive), max(negative) <= h
    """
    if matrices.ndim < 2 or matrices.shape[-1] != matrices.shape[-2]:
        raise ValueError(
            f"inertia needs square matrices (…, d, d), got shape {tuple(matrices.shape)}"
        )
    evals = torch.linalg.eigvalsh((matrices + matrices.mT) / 2).reshape(-1, matrices.shape[-1])
    return (evals > tol).sum(-1).tolist(), (evals < -tol).sum(-1).tolist()


def _check_wire(net, wire: int) -> None:
    n_wires = len(net.layers) + 1
    if isinstance(wire, bool) or not isinstance(wire, int) or not 0 <= wire < n_wires:
        raise ValueError(
            f"wire must be an integer from 0 to {n_wires - 1} (this network has "
            f"{len(net.layers)} bilinear layers), got {wire!r}"
        )
