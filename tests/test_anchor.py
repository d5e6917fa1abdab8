"""The anchor: for one bilinear layer, the deep reading reduces to the shallow one.

Pearce, Dooms et al. decompose a single-layer bilinear MLP (tdooms/bilinear-decomposition,
``src/image/model.py``: ``Config(d_hidden=256, n_layer=1, d_input=784, d_output=10,
bias=False, residual=False)``; ``embed = Linear(d_input, d_hidden, bias=False)``, one
``Bilinear(d_hidden, d_hidden, bias=False)`` whose output is ``l(x) * r(x)``, ``head =
Linear(d_hidden, d_output, bias=False)``). Their ``decompose()``::

    b = einsum(self.w_u, l, r, "cls out, out in1, out in2 -> cls in1 in2")
    b = 0.5 * (b + b.mT)
    vals, vecs = torch.linalg.eigh(b)
    vecs = einsum(vecs, self.w_e, "cls emb comp, emb inp -> cls comp inp")

Built from its tensors with ``from_factors`` (no biases, no residual), ODT's class
eigenvectors (``interpret.class_eigenvectors``: the eigenvectors of logit c's downstream
Gram at one copy of the input) must be the eigenvectors of the symmetrised interaction
matrix of class c in input space, ``A_c = W_eᵀ ½(B_c + B_cᵀ) W_e``, with eigenvalues
squared, ordered by |eigenvalue|: the Gram of the symmetric ``A_c`` is ``A_c²``. Their
projection ``W_eᵀ v`` of the embedding-space eigenvectors gives the same vectors when the
embedding has orthonormal rows (``W_e W_eᵀ = I``); in general the eigenvectors of ``A_c``
are the right comparison, tested first.
"""

import pytest
import torch
from torch import nn

from helpers import assert_close
from xnets_lite import class_eigenvectors, from_factors, odt

# small sizes of the same shape: d_input 4×4 pixels, d_hidden 6, 3 classes
D_INPUT, D_HIDDEN, N_CLASSES, K = 16, 6, 3, 4


class SingleLayerBilinear(nn.Module):
    """Their model's forward at ``n_layer=1``, ``bias=False``, ``residual=False``:
    ``head(l(e) * r(e))`` with ``e = embed(x)``."""

    def __init__(self, w_e, l, r, w_u):
        super().__init__()
        self.w_e, self.l, self.r, self.w_u = w_e, l, r, w_u

    def forward(self, x):
        e = x @ self.w_e.T
        return ((e @ self.l.T) * (e @ self.r.T)) @ self.w_u.T


def factors(seed, orthonormal_embedding=False):
    gen = torch.Generator().manual_seed(seed)
    w_e = torch.randn(D_HIDDEN, D_INPUT, generator=gen, dtype=torch.float64)
    if orthonormal_embedding:
        w_e = torch.linalg.qr(w_e.T).Q.T  # (d_hidden, d_input), W_e W_eᵀ = I
    l, r = torch.randn(2, D_HIDDEN, D_HIDDEN, generator=gen, dtype=torch.float64)
    w_u = torch.randn(N_CLASSES, D_HIDDEN, generator=gen, dtype=torch.float64)
    return w_e, l, r, w_u


def their_interactions(l, r, w_u):
    """``decompose()``'s symmetrised ``b``: (classes, emb, emb)."""
    b = torch.einsum("co,oi,oj->cij", w_u, l, r)
    return 0.5 * (b + b.mT)


def by_magnitude(vals, vecs):
    """Eigenpairs (…, n), (…, n, n) columns → sorted by |value|, largest first; vecs rows."""
    order = vals.abs().argsort(-1, descending=True)
    vals = vals.gather(-1, order)
    vecs = vecs.gather(-1, order[..., None, :].expand_as(vecs)).mT
    return vals, vecs


def assert_same_directions(a, b, tol=1e-9):
    """Rows of a and b (…, k, n) equal up to sign."""
    dots = (a * b).sum(-1).abs()
    assert_close(dots, torch.ones_like(dots), tol)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_odt_class_eigenvectors_are_the_interaction_eigenvectors(seed):
    w_e, l, r, w_u = factors(seed)
    net = from_factors(w_e, blocks=[(l, r)], head_weight=w_u)
    x = torch.randn(8, D_INPUT, dtype=torch.float64)
    assert_close(net(x), SingleLayerBilinear(w_e, l, r, w_u)(x))

    q = their_interactions(l, r, w_u)
    a = w_e.T @ q @ w_e  # (C, d_input, d_input), input space
    vals, vecs = by_magnitude(*torch.linalg.eigh(a))
    ce = class_eigenvectors(odt(net), k=K)
    assert_close(ce.values, vals[:, :K] ** 2)
    assert_same_directions(ce.vectors, vecs[:, :K])
    # no biases: all of every class's energy is in pixel directions
    assert_close(ce.pixel_share, torch.ones(N_CLASSES, dtype=torch.float64))


@pytest.mark.parametrize("seed", [0, 1])
def test_with_an_orthonormal_embedding_it_is_their_decompose(seed):
    w_e, l, r, w_u = factors(seed, orthonormal_embedding=True)
    vals, vecs = torch.linalg.eigh(their_interactions(l, r, w_u))
    vecs = torch.einsum("cek,ei->cki", vecs, w_e)
    # their vecs: (cls, comp, inp) after the projection; sort the components by |value|
    order = vals.abs().argsort(-1, descending=True)
    vals = vals.gather(-1, order)
    vecs = vecs.gather(1, order[..., None].expand_as(vecs))
    ce = class_eigenvectors(odt(from_factors(w_e, blocks=[(l, r)], head_weight=w_u)), k=K)
    assert_close(ce.values, vals[:, :K] ** 2)
    assert_same_directions(ce.vectors, vecs[:, :K])


def test_the_anchor_fails_for_a_wrong_reading():
    """The comparison has teeth: a model with another head has other class eigenvectors."""
    w_e, l, r, w_u = factors(0)
    other = from_factors(w_e, blocks=[(l, r)], head_weight=w_u.flip(0))
    vals, vecs = by_magnitude(*torch.linalg.eigh(w_e.T @ their_interactions(l, r, w_u) @ w_e))
    ce = class_eigenvectors(odt(other), k=K)
    dots = (ce.vectors[0] * vecs[0, :K]).sum(-1).abs()
    assert dots.min() < 0.99
