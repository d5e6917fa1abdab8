"""When are two χ-nets the same? Exact comparisons by weights, per degree, and by function.

Four measures, each answering a different question:

* **weights** (``weight_similarity``): the inner product of the two networks' tree tensors
  ``⟨T_a, T_b⟩ = Σ_c Σ T_a[c, i₁…i_N] T_b[c, i₁…i_N]`` (N = 2^L copies of ``x̃ = [1, x]``,
  every layer symmetrised, the constant coordinate included), its cosine, per class and
  **per degree**. It is the **cross-Gram** recursion: ODT's upstream Gram
  (``odt.layer_gram``) with two sets of factors,

      G₀ = E_a E_bᵀ,
      G_{l+1} = ½ D_a [(L_a G_l L_bᵀ) ⊙ (R_a G_l R_bᵀ) + (L_a G_l R_bᵀ) ⊙ (R_a G_l L_bᵀ)] D_bᵀ,
      ⟨T_a, T_b⟩ = Σ_c H_a[c] G_L H_b[c]ᵀ,

  where ``G_l[p, q]`` is the inner product of wire l's coordinate p in network a and
  coordinate q in network b, each a tensor over the 2^l input copies below the wire. The
  degree split: give the pixel coordinates of the input a weight t, ``G₀(t) = E_a e₀e₀ᵀ E_bᵀ
  + t E_a P E_bᵀ``; every ``⊙`` multiplies two polynomials in t, and the coefficient of t^d
  is the inner product of the degree-d parts (entries where exactly d copies pick a pixel).
  Cost O(L · k² n) per coefficient, nothing of size k³ or (d+1)^(2^L) is built. Invariant
  to any gauge on the wires (``P G Qᵀ`` against ``L P⁻¹``), to hidden-unit permutations and
  to L↔R swaps (the symmetrised layer is the same). Not invariant to the *tree*: two trees
  that compute the same polynomial can have different tensors (``same_polynomial_example``).
* **function on data** (``data_similarity``): the cosine of the centred logits over a
  dataset, in total and for each degree of the exact split (``degrees.logit_degrees``).
* **function under N(0, I)** (``gaussian_similarity``): ``E[f_a(x)ᵀ f_b(x)]`` per degree,
  exact for degrees ≤ 2 (``gaussian_low_degree``, from ``f₀``, the template and ``Q_c``),
  Monte Carlo with a standard error for the rest and for the total.
* **the published method** (``moment_propagation``): tensor-similarity's (Dooms et al.,
  arXiv 2605.15183) second-moment propagation of the joint Gaussian ``(Σ_aa, Σ_ab, Σ_bb)``
  of the two networks' homogeneous wires, implemented here from its description: exact for
  one layer (the input is Gaussian), approximate after (the wires are not).

``wire_similarity`` compares the *spaces* each wire spans (as tensors over the input
copies), the cosine of the two orthogonal projectors: gauge invariant, every direction
counted once. ``matched_directions`` and ``tree_similarity`` compare two *decomposed*
networks' readings: each wire's top directions, and the tree's interaction matrices once the
directions are matched (beside what a random matching gives).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from xnets_lite.analysis.degrees import (
    as_network,
    fold_center,
    linear_and_quadratic,
    logit_degrees,
    poly_mul,
)
from xnets_lite.core.network import BilinearLayer, Network

#: Directions of a wire whose Gram eigenvalue is below this times the largest are null.
RTOL = 1e-10


def _pair(a, b, center=None) -> tuple[Network, Network]:
    """Two float64 networks on the same input, with ``center`` folded into both embeddings."""
    na, nb = as_network(a), as_network(b)
    if na.d_input != nb.d_input or na.n_classes != nb.n_classes:
        raise ValueError(
            f"the two networks must read the same input and write the same classes: "
            f"d_input {na.d_input} vs {nb.d_input}, classes {na.n_classes} vs {nb.n_classes}"
        )
    return fold_center(na, center), fold_center(nb, center)


def _same_depth(na: Network, nb: Network) -> None:
    if len(na.layers) != len(nb.layers):
        raise ValueError(
            f"the weight-space measures compare tree tensors over the same number of input "
            f"copies: these networks have {len(na.layers)} and {len(nb.layers)} bilinear layers "
            f"(2^L = {na.n_copies} and {nb.n_copies} copies). Compare networks of different "
            f"depths by function (data_similarity or gaussian_similarity)."
        )


# ---------------------------------------------------------------------------------------
# Weights: the cross-Gram recursion
# ---------------------------------------------------------------------------------------
def cross_layer(la: BilinearLayer, lb: BilinearLayer, gram: Tensor) -> Tensor:
    """One step of the cross-Gram recursion: wire l's cross-Gram ``gram`` (…, n_a, n_b) →
    wire l+1's (…, n_a', n_b'), for the symmetrised layers. A leading dimension of size > 1
    is a polynomial in t (coefficients first), multiplied by ``⊙`` as a convolution."""
    lgl = la.left @ gram @ lb.left.T
    rgr = la.right @ gram @ lb.right.T
    lgr = la.left @ gram @ lb.right.T
    rgl = la.right @ gram @ lb.left.T
    inner = 0.5 * (poly_mul(lgl, rgr) + poly_mul(lgr, rgl))
    return la.down @ inner @ lb.down.T


def cross_grams(a, b, center=None, graded: bool = True) -> list[Tensor]:
    """The cross-Gram of every wire, wire 0 first: with ``graded`` a polynomial in the pixel
    weight t, shape (2^l + 1, n_a, n_b) (coefficient d = the degree-d part), otherwise the
    sum of the coefficients, (1, n_a, n_b)."""
    na, nb = _pair(a, b, center)
    _same_depth(na, nb)
    e0 = na.embed[:, :1] @ nb.embed[:, :1].T
    ep = na.embed[:, 1:] @ nb.embed[:, 1:].T
    gram = torch.stack([e0, ep]) if graded else (e0 + ep)[None]
    out = [gram]
    for la, lb in zip(na.layers, nb.layers):
        gram = cross_layer(la, lb, gram)
        out.append(gram)
    return out


@dataclass
class WeightSimilarity:
    """Inner products of two tree tensors, split by degree d (rows) and class c (columns).

    Attributes:
        ab, aa, bb: (2^L + 1, C) float64: ``⟨T_a, T_b⟩``, ``‖T_a‖²``, ``‖T_b‖²`` of class c's
            degree-d part (the symmetrised trees, around the center given).
    """

    ab: Tensor
    aa: Tensor
    bb: Tensor

    def cosine(self, degree: int | None = None, per_class: bool = False) -> Tensor:
        """The cosine of the two tensors: all degrees (``degree=None``) or one; all classes
        together (a scalar) or ``per_class`` (C,). NaN where a part is zero in both."""
        sel = slice(None) if degree is None else slice(degree, degree + 1)
        ab, aa, bb = (t[sel].sum(0) for t in (self.ab, self.aa, self.bb))
        if not per_class:
            ab, aa, bb = ab.sum(), aa.sum(), bb.sum()
        return ab / (aa * bb).sqrt()

    def per_degree(self) -> Tensor:
        """(2^L + 1,): the cosine of each degree's part, all classes together."""
        return self.ab.sum(1) / (self.aa.sum(1) * self.bb.sum(1)).sqrt()

    def energy_share(self) -> tuple[Tensor, Tensor]:
        """(2^L + 1,) twice: each degree's share of ``‖T_a‖²`` and of ``‖T_b‖²``."""
        return self.aa.sum(1) / self.aa.sum(), self.bb.sum(1) / self.bb.sum()


def _head_inner(na: Network, nb: Network, gram: Tensor) -> Tensor:
    """(D, C): ``H_a[c] G_d H_b[c]ᵀ`` for every coefficient d of the graded Gram."""
    return torch.einsum("ci,dij,cj->dc", na.head[1:], gram, nb.head[1:])


@torch.no_grad()
def weight_similarity(a, b, center=None) -> WeightSimilarity:
    """The tree tensors of ``a`` and ``b`` (``XNet`` or ``Network``, same depth, input and
    classes) compared exactly, per degree and class, by three cross-Gram recursions
    (a with b, a with a, b with b). ``center``: the expansion point (None: 0), folded into
    both embeddings, so degree d counts the copies that pick a coordinate of ``x − center``.
    """
    na, nb = _pair(a, b, center)
    _same_depth(na, nb)
    parts = []
    for x, y in ((na, nb), (na, na), (nb, nb)):
        parts.append(_head_inner(x, y, cross_grams(x, y)[-1]))
    return WeightSimilarity(*parts)


def weight_cosine(a, b, center=None) -> float:
    """The cosine of the two tree tensors, all degrees and classes (``weight_similarity``)."""
    return float(weight_similarity(a, b, center).cosine())


def _projector_basis(gram: Tensor, rtol: float = RTOL) -> Tensor:
    """``W`` (n, r) with ``Wᵀ G W = I`` spanning the non-null directions of ``gram``."""
    evals, vecs = torch.linalg.eigh((gram + gram.T) / 2)
    keep = evals > rtol * evals[-1].clamp_min(0)
    return vecs[:, keep] / evals[keep].sqrt()


@torch.no_grad()
def wire_similarity(a, b, rtol: float = RTOL) -> Tensor:
    """(L + 1,): for every wire, the cosine of the orthogonal projectors onto the spaces the
    two networks' wire coordinates span (as tensors over the 2^l input copies below it):
    ``tr(P_a P_b) / √(r_a r_b)`` = ``Σ ρ_i² / √(r_a r_b)``, ρ the canonical correlations
    of the two wires. 1: the same space; invariant to any gauge on either wire (a
    projector does not depend on the basis). Every direction counts once, however little
    of the function it carries; null directions (``rtol``) are dropped."""
    na, nb = _pair(a, b)
    _same_depth(na, nb)
    out = []
    for gab, gaa, gbb in zip(
        cross_grams(na, nb, graded=False),
        cross_grams(na, na, graded=False),
        cross_grams(nb, nb, graded=False),
    ):
        wa, wb = _projector_basis(gaa[0], rtol), _projector_basis(gbb[0], rtol)
        c = wa.T @ gab[0] @ wb  # canonical correlations are its singular values
        out.append((c * c).sum() / math.sqrt(wa.shape[1] * wb.shape[1]))
    return torch.stack(out)


def same_polynomial_example() -> tuple[Network, Network]:
    """Two trees of the same polynomial ``f(x) = x₁² x₂²`` (d = 2, one class):
    ``a = ((x₁ x₂))²`` (layer 1 makes ``x₁x₂``, layer 2 squares it) and ``b = (x₁²)(x₂²)``
    (layer 1 makes ``x₁²`` and ``x₂²``, layer 2 multiplies them). Their functions are equal;
    their tree tensors have disjoint supports, so their weight cosine is 0."""
    from xnets_lite.core.network import from_factors

    eye, e1, e2 = torch.eye(2), torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    one = torch.ones(1, 1)
    a = from_factors(eye, blocks=[(e1, e2), (one, one)], head_weight=one)
    b = from_factors(eye, blocks=[(eye, eye), (e1, e2)], head_weight=one)
    return a, b


# ---------------------------------------------------------------------------------------
# Function on data
# ---------------------------------------------------------------------------------------
@dataclass
class FunctionSimilarity:
    """Sums of products of two networks' (centred) logits over samples and classes, per
    degree of the exact split.

    Attributes:
        ab, aa, bb: (D,) per degree d = 0…D−1 (the longer network's 2^L + 1; the shorter
            one's missing degrees are 0).
        total: (3,) the same three sums for the whole logits.
    """

    ab: Tensor
    aa: Tensor
    bb: Tensor
    total: Tensor

    def cosine(self, degree: int | None = None) -> float:
        """The cosine of the whole logits (``degree=None``) or of one degree's part; NaN
        where a part vanishes (below 1e-20 of its network's total: e.g. degree 0 after
        centring, which is zero up to rounding)."""
        if degree is None:
            ab, aa, bb = self.total
        else:
            ab, aa, bb = self.ab[degree], self.aa[degree], self.bb[degree]
        if float(aa) <= 1e-20 * float(self.aa.sum()) or float(bb) <= 1e-20 * float(self.bb.sum()):
            return math.nan
        return float(ab / (aa * bb).sqrt())

    def per_degree(self) -> Tensor:
        """(D,): ``cosine(d)`` for every degree (NaN where a part vanishes)."""
        return torch.tensor([self.cosine(d) for d in range(len(self.ab))], dtype=self.ab.dtype)


def _pad(parts: Tensor, n: int) -> Tensor:
    return torch.cat([parts, parts.new_zeros(n - len(parts), *parts.shape[1:])])


@torch.no_grad()
def data_similarity(a, b, x: Tensor, center=None, centred: bool = True) -> FunctionSimilarity:
    """The cosine of two networks' logits on the inputs ``x`` (N, d) in total and per degree
    (``logit_degrees`` around ``center``), each part centred over the N inputs (``centred``):
    exact for this finite set. The networks may have different depths."""
    pa, pb = logit_degrees(a, x, center), logit_degrees(b, x, center)
    n = max(len(pa), len(pb))
    pa, pb = _pad(pa, n), _pad(pb, n)
    fa, fb = pa.sum(0), pb.sum(0)
    if centred:
        pa, pb = pa - pa.mean(1, keepdim=True), pb - pb.mean(1, keepdim=True)
        fa, fb = fa - fa.mean(0), fb - fb.mean(0)
    dot = lambda u, v: (u * v).flatten(1).sum(1)  # noqa: E731
    total = torch.stack([(fa * fb).sum(), (fa * fa).sum(), (fb * fb).sum()])
    return FunctionSimilarity(dot(pa, pb), dot(pa, pa), dot(pb, pb), total)


# ---------------------------------------------------------------------------------------
# Function under N(0, I)
# ---------------------------------------------------------------------------------------
def low_degree_terms(model) -> tuple[Tensor, Tensor, Tensor]:
    """``(f₀ (C,), g (C, d), Q (C, d, d))`` around 0 (``linear_and_quadratic``), the
    inputs of ``gaussian_low_degree``; compute them once per network when comparing many."""
    return linear_and_quadratic(as_network(model))


def gaussian_low_degree(a, b, terms_a=None, terms_b=None) -> Tensor:
    """(3, 3) float64: ``E_{x∼N(0,I)}[Σ_c f_{a,d}(x) f_{b,e}(x)]`` for the monomial degree
    parts d, e ∈ {0, 1, 2} around 0, exactly, from ``f₀``, the templates ``g`` and ``Q_c``:

        (0,0) f₀ₐ·f₀ᵦ   (0,2) f₀ₐ·tr Qᵦ   (1,1) gₐ·gᵦ   (2,2) tr Qₐ tr Qᵦ + 2 tr(Qₐ Qᵦ),

    summed over classes; (0,1) and (1,2) vanish (odd moments). Note the monomial parts are
    not orthogonal under N(0, I): degree 0 and 2 correlate through ``tr Q``.
    ``terms_a``, ``terms_b``: ``low_degree_terms`` already computed (then ``a``, ``b`` are
    not read)."""
    if terms_a is None or terms_b is None:
        na, nb = _pair(a, b)
        terms_a = low_degree_terms(na) if terms_a is None else terms_a
        terms_b = low_degree_terms(nb) if terms_b is None else terms_b
    fa, ga, qa = terms_a
    fb, gb, qb = terms_b
    ta, tb = qa.diagonal(dim1=-2, dim2=-1).sum(-1), qb.diagonal(dim1=-2, dim2=-1).sum(-1)
    out = fa.new_zeros(3, 3)
    out[0, 0] = (fa * fb).sum()
    out[0, 2] = (fa * tb).sum()
    out[2, 0] = (ta * fb).sum()
    out[1, 1] = (ga * gb).sum()
    out[2, 2] = (ta * tb).sum() + 2 * (qa * qb).sum()
    return out


@dataclass
class GaussianSimilarity:
    """``E_{x∼N(0,I)}[f_a(x)ᵀ f_b(x)]`` and friends, per degree (monomial parts around 0).

    Attributes:
        exact: (3, 3) the degree ≤ 2 block of (a·b), exact (``gaussian_low_degree``); and
            ``exact_aa``, ``exact_bb`` the same for a·a and b·b.
        mc: (3, D) Monte Carlo means of ``Σ_c f_{a,d} f_{b,d}``, ``Σ_c f_{a,d}²``,
            ``Σ_c f_{b,d}²`` per degree d; ``mc_se``: their standard errors.
        mc_total: (3,) the same for the whole logits; ``mc_total_se`` their standard errors.
        cosine_total, cosine_total_se: the Monte Carlo cosine of the whole logits and its
            jackknife standard error (over ``n_batches`` blocks).
        per_degree, per_degree_se: (D,) each degree's cosine: exact (SE 0) for d ≤ 2,
            Monte Carlo with its jackknife SE for d ≥ 3.
        n_samples: how many Gaussian inputs the Monte Carlo used.
    """

    exact: Tensor
    exact_aa: Tensor
    exact_bb: Tensor
    mc: Tensor
    mc_se: Tensor
    mc_total: Tensor
    mc_total_se: Tensor
    cosine_total: float
    cosine_total_se: float
    per_degree: Tensor
    per_degree_se: Tensor
    n_samples: int


def _jackknife_cosine(sums: Tensor) -> tuple[Tensor, Tensor]:
    """``sums`` (B, 3, …) per-block sums of ab, aa, bb → the cosine over all blocks and its
    jackknife standard error."""
    full = sums.sum(0)
    cos = lambda s: s[0] / (s[1] * s[2]).sqrt()  # noqa: E731
    b = len(sums)
    leave = torch.stack([cos(full - sums[i]) for i in range(b)])
    se = ((b - 1) / b * ((leave - leave.mean(0)) ** 2).sum(0)).sqrt()
    return cos(full), se


@torch.no_grad()
def gaussian_similarity(
    a, b, n_samples: int = 20_000, seed: int = 0, n_batches: int = 20
) -> GaussianSimilarity:
    """``E_{x∼N(0,I)}[f_a(x)ᵀ f_b(x)]``, normalised to a cosine (uncentred, the published
    method's quantity), in total and per degree around 0: exact for d ≤ 2, Monte Carlo
    (``n_samples`` inputs drawn with ``seed``, in ``n_batches`` blocks for the jackknife)
    for the rest and the total. The networks may have different depths."""
    na, nb = _pair(a, b)
    if n_samples < n_batches or n_batches < 2:
        raise ValueError(f"need n_samples ≥ n_batches ≥ 2, got {n_samples} and {n_batches}")
    gen = torch.Generator().manual_seed(seed)
    per_block, per_sample, total = [], [], []
    sizes = [n_samples // n_batches + (i < n_samples % n_batches) for i in range(n_batches)]
    for size in sizes:
        x = torch.randn(size, na.d_input, generator=gen, dtype=torch.float64)
        pa, pb = logit_degrees(na, x), logit_degrees(nb, x)
        n = max(len(pa), len(pb))
        pa, pb = _pad(pa, n), _pad(pb, n)
        prods = torch.stack([(pa * pb).sum(-1), (pa * pa).sum(-1), (pb * pb).sum(-1)])  # 3,D,N
        fa, fb = pa.sum(0), pb.sum(0)
        tot = torch.stack([(fa * fb).sum(-1), (fa * fa).sum(-1), (fb * fb).sum(-1)])  # 3,N
        per_sample.append(prods)
        total.append(tot)
        per_block.append(torch.cat([prods.sum(-1), tot.sum(-1)[:, None]], 1))  # 3, D+1
    prods, tot = torch.cat(per_sample, -1), torch.cat(total, -1)
    cos, se = _jackknife_cosine(torch.stack(per_block))
    ta, tb = low_degree_terms(na), low_degree_terms(nb)
    exact = gaussian_low_degree(None, None, ta, tb)
    ex_aa, ex_bb = gaussian_low_degree(None, None, ta, ta), gaussian_low_degree(None, None, tb, tb)
    per_degree, per_se = cos[:-1].clone(), se[:-1].clone()
    k = min(3, len(per_degree))
    diag = lambda m: m.diagonal()[:k]  # noqa: E731
    per_degree[:k] = diag(exact) / (diag(ex_aa) * diag(ex_bb)).sqrt()
    per_se[:k] = 0
    root = math.sqrt(n_samples)
    return GaussianSimilarity(
        exact=exact,
        exact_aa=ex_aa,
        exact_bb=ex_bb,
        mc=prods.mean(-1),
        mc_se=prods.std(-1) / root,
        mc_total=tot.mean(-1),
        mc_total_se=tot.std(-1) / root,
        cosine_total=float(cos[-1]),
        cosine_total_se=float(se[-1]),
        per_degree=per_degree,
        per_degree_se=per_se,
        n_samples=n_samples,
    )


# ---------------------------------------------------------------------------------------
# The published method: Gaussian second-moment propagation
# ---------------------------------------------------------------------------------------
def moment_layer(
    la: BilinearLayer, lb: BilinearLayer, s_ab: Tensor, s_aa: Tensor, s_bb: Tensor
) -> Tensor:
    """``E[y_a y_bᵀ]`` for ``y = D (L w ⊙ R w)`` when the homogeneous wires ``w_a``, ``w_b``
    (coordinate 0 the constant 1, so the means are ``S[:, 0]``) are *jointly Gaussian* with
    second moments ``S_aa``, ``S_ab``, ``S_bb``. Isserlis on uncentred moments over four
    legs (u = L_a w_a, v = R_a w_a, u' = L_b w_b, v' = R_b w_b):

        E[u v u' v'] = E[uv] E[u'v'] + E[uu'] E[vv'] + E[uv'] E[vu'] − 2 m_u m_v m_u' m_v',

    the last term removing the mean product counted three times instead of once."""
    mu_a, mu_b = s_aa[:, 0], s_bb[:, 0]
    uv = (la.left @ s_aa * la.right).sum(1)  # E[u_h v_h]
    uv_b = (lb.left @ s_bb * lb.right).sum(1)
    uu = la.left @ s_ab @ lb.left.T
    vv = la.right @ s_ab @ lb.right.T
    uv_ = la.left @ s_ab @ lb.right.T
    vu_ = la.right @ s_ab @ lb.left.T
    ma = (la.left @ mu_a) * (la.right @ mu_a)
    mb = (lb.left @ mu_b) * (lb.right @ mu_b)
    inner = torch.outer(uv, uv_b) + uu * vv + uv_ * vu_ - 2 * torch.outer(ma, mb)
    return la.down @ inner @ lb.down.T


@dataclass
class MomentSimilarity:
    """The published method's result: ``E[f f'ᵀ]`` (C, C) for the pairs ab, aa, bb under the
    Gaussian assumption, and its cosine ``tr S_ab / √(tr S_aa tr S_bb)``."""

    ab: Tensor
    aa: Tensor
    bb: Tensor

    @property
    def cosine(self) -> float:
        return float(self.ab.trace() / (self.aa.trace() * self.bb.trace()).sqrt())


@torch.no_grad()
def moment_propagation(a, b) -> MomentSimilarity:
    """tensor-similarity's estimate of ``E_{x∼N(0,I)}[f_a(x)ᵀ f_b(x)]``: start from the
    homogeneous input's second moment ``diag(1, I)``, map it through both embeddings, then
    propagate the three blocks ``(S_aa, S_ab, S_bb)`` through each pair of layers
    (``moment_layer``) as if every wire were jointly Gaussian, and read the logits' second
    moments through the heads. Exact for one bilinear layer; after that the wires are
    polynomials of a Gaussian, not Gaussian, and the estimate drifts. Needs equal depths
    (the layers are paired)."""
    na, nb = _pair(a, b)
    _same_depth(na, nb)
    s0 = torch.eye(na.d_input + 1, dtype=na.dtype)
    s_ab, s_aa, s_bb = na.embed @ s0 @ nb.embed.T, na.embed @ na.embed.T, nb.embed @ nb.embed.T
    for la, lb in zip(na.layers, nb.layers):
        s_ab, s_aa, s_bb = (
            moment_layer(la, lb, s_ab, s_aa, s_bb),
            moment_layer(la, la, s_aa, s_aa, s_aa),
            moment_layer(lb, lb, s_bb, s_bb, s_bb),
        )
    ha, hb = na.head[1:], nb.head[1:]
    return MomentSimilarity(ha @ s_ab @ hb.T, ha @ s_aa @ ha.T, hb @ s_bb @ hb.T)


# ---------------------------------------------------------------------------------------
# Readings: do eigenvectors carry over?
# ---------------------------------------------------------------------------------------
def subspace_similarity(u: Tensor, v: Tensor) -> Tensor:
    """(…,): ``‖Uᵀ V‖²_F / k`` for orthonormal row stacks ``u``, ``v`` (…, k, d): the mean
    squared cosine of the principal angles between the two k-dimensional spans (1: the same
    span, whatever the order or signs; a random k-span of R^d gives k/d on average)."""
    k = u.shape[-2]
    return (u @ v.mT).pow(2).sum((-1, -2)) / k


def matched_cosines(u: Tensor, v: Tensor) -> Tensor:
    """(…, k): for each row of ``u`` (…, k, d), the largest |cosine| with any row of ``v``
    (unit rows): how well each of a's directions is matched by one of b's."""
    return (u @ v.mT).abs().amax(-1)


# ---------------------------------------------------------------------------------------
# Monte Carlo of the weight-space inner product (the independent check, and the benchmark)
# ---------------------------------------------------------------------------------------
def _leaf_tree(net: Network, leaves: Tensor) -> Tensor:
    """The symmetrised tree evaluated with its own input at every copy: ``leaves``
    (2^L, N, d+1) homogeneous-coordinate vectors → (N, C), ``T(x₁, …, x_{2^L})``."""
    w = leaves @ net.embed.T
    for layer in net.layers:
        u, v = w[0::2], w[1::2]
        w = (
            0.5 * ((u @ layer.left.T) * (v @ layer.right.T))
            + 0.5 * ((u @ layer.right.T) * (v @ layer.left.T))
        ) @ layer.down.T
    return w[0] @ net.head[1:].T


@torch.no_grad()
def weight_monte_carlo(
    a, b, n_samples: int = 10_000, seed: int = 0, n_batches: int = 20
) -> tuple[float, float]:
    """The weight cosine estimated by sampling: with an independent ``x̃ᵢ ∼ N(0, I)`` (all
    d+1 coordinates, the constant one too) at every copy, ``E[T_a(x̃₁…) · T_b(x̃₁…)] =
    ⟨T_a, T_b⟩``. Returns the cosine and its jackknife standard error: what
    ``weight_similarity`` computes exactly, the way a sampler would have to."""
    na, nb = _pair(a, b)
    _same_depth(na, nb)
    gen = torch.Generator().manual_seed(seed)
    blocks = []
    for i in range(n_batches):
        size = n_samples // n_batches + (i < n_samples % n_batches)
        leaves = torch.randn(na.n_copies, size, na.d_input + 1, generator=gen, dtype=na.dtype)
        fa, fb = _leaf_tree(na, leaves), _leaf_tree(nb, leaves)
        blocks.append(torch.stack([(fa * fb).sum(), (fa * fa).sum(), (fb * fb).sum()]))
    cos, se = _jackknife_cosine(torch.stack(blocks))
    return float(cos), float(se)


# ---------------------------------------------------------------------------------------
# Many models at once: seed × seed matrices
# ---------------------------------------------------------------------------------------
@torch.no_grad()
def weight_matrix(models, center=None) -> Tensor:
    """(M, M, 2^L + 2): the weight cosine of every pair of ``models`` (same depth), per degree
    d = 0…2^L and, last, all degrees: M(M+1)/2 cross-Gram recursions."""
    nets = [as_network(m) for m in models]
    m = len(nets)
    inner = {}
    for i in range(m):
        for j in range(i, m):
            inner[i, j] = weight_similarity(nets[i], nets[j], center).ab.sum(1)  # (D,)
    d = len(inner[0, 0])
    ip = torch.zeros(m, m, d + 1, dtype=torch.float64)
    for (i, j), v in inner.items():
        ip[i, j, :d] = ip[j, i, :d] = v
        ip[i, j, d] = ip[j, i, d] = v.sum()
    diag = ip.diagonal(dim1=0, dim2=1).T  # (M, D+1)
    return ip / (diag[:, None] * diag[None, :]).sqrt()


@torch.no_grad()
def parts_matrix(parts, centred: bool = True, n_blocks: int = 1) -> tuple[Tensor, Tensor]:
    """Cosines of every pair of models from their degree parts on the *same* inputs.

    ``parts``: one ``logit_degrees`` result per model, (D_m, N, C) (padded to the largest D);
    ``centred``: subtract each part's mean over the N inputs (data) or not (the uncentred
    ``E[f_aᵀ f_b]`` of the Gaussian measure). Returns ``(cos, se)``, each (M, M, D + 1): per
    degree and, last, the whole logits; ``se`` the jackknife standard error over
    ``n_blocks`` blocks of inputs (zeros when ``n_blocks`` is 1: the exact finite-set value).
    """
    d = max(len(p) for p in parts)
    p = torch.stack([_pad(q, d) for q in parts])  # (M, D, N, C)
    p = torch.cat([p, p.sum(1, keepdim=True)], 1)  # + the whole logits
    if centred:
        p = p - p.mean(2, keepdim=True)
    blocks = torch.stack(
        [torch.einsum("idnc,jdnc->ijd", b, b) for b in p.tensor_split(n_blocks, dim=2)]
    )  # (B, M, M, D+1)

    def cos(s):
        diag = s.diagonal(dim1=0, dim2=1).T
        return s / (diag[:, None] * diag[None, :]).sqrt()

    full = blocks.sum(0)
    if n_blocks == 1:
        return cos(full), torch.zeros_like(full)
    leave = torch.stack([cos(full - b) for b in blocks])
    se = ((n_blocks - 1) / n_blocks * ((leave - leave.mean(0)) ** 2).sum(0)).sqrt()
    return cos(full), se


def gaussian_low_matrix(terms) -> Tensor:
    """(M, M, 3): the exact N(0, I) cosine of every pair's degree-0, 1 and 2 parts, from
    each model's ``low_degree_terms``."""
    m = len(terms)
    ip = torch.zeros(m, m, 3, dtype=torch.float64)
    for i in range(m):
        for j in range(i, m):
            ip[i, j] = ip[j, i] = gaussian_low_degree(None, None, terms[i], terms[j]).diagonal()
    diag = ip.diagonal(dim1=0, dim2=1).T
    return ip / (diag[:, None] * diag[None, :]).sqrt()


def mean_off_diagonal(matrix: Tensor) -> Tensor:
    """The mean over pairs i ≠ j of a (M, M, …) matrix (…,)."""
    m = matrix.shape[0]
    mask = ~torch.eye(m, dtype=torch.bool)
    return matrix[mask].mean(0)


@torch.no_grad()
def matched_directions(dec_a, dec_b, rank: int = 15) -> list[Tensor]:
    """For every wire, how well each of network a's top-``rank`` ODT directions is matched by
    one of network b's: ``(rank,)`` best |cosine| per wire, wire 0 first.

    After ODT every wire is orthonormal (its upstream Gram is the identity, the constant
    coordinate included), so the cross-Gram of the two decomposed networks
    (``cross_grams``) *is* the matrix of cosines between a's and b's directions, each a
    tensor over the input copies below the wire. ``dec_a``, ``dec_b``: ``odt`` results
    (``Decomposition``) of two networks of the same depth; directions 1…rank (the constant,
    index 0, is left out: it is the same in both)."""
    na, nb = dec_a.network, dec_b.network
    out = []
    for gram in cross_grams(na, nb, graded=False):
        cos = gram[0, 1 : rank + 1, 1:].abs()
        out.append(cos.amax(1))
    return out


# ---------------------------------------------------------------------------------------
# The trees' interaction matrices, after matching directions
# ---------------------------------------------------------------------------------------
@dataclass
class TreeSimilarity:
    """How alike two seeds' trees (``compositional_tree``) are, layer by layer, once b's
    directions are matched to a's (``tree_similarity``).

    Attributes (one entry per bilinear layer, the course's layer 1 first; the last is the
    class matrices):
        matched: cosine of a's and matched-b's matrices, product block only (every index
            ≥ 1: the constant's rows and columns left out, and, for the interactions, the
            constant output too).
        matched_full: the same over every entry, the constant's rows and columns included.
        baseline, baseline_full: the mean of the same cosines with b's matrices re-expressed
            by a *random* signed permutation of the same wires (what chance gives).
        baseline_std, baseline_full_std: their standard deviation over the draws.
        ordered, ordered_std: the product-block cosine with b's directions left in its own
            importance order and given random signs (mean and standard deviation): what
            importance order alone gives, without the matching (diagonal entries ignore
            signs, so a few dominant directions can make this high).
        wire_cosines: per wire read by a layer, the |cosine| of each of a's directions with
            its assigned b direction (the matching's quality).
        ranks: directions per wire (besides the constant).
    """

    matched: Tensor
    matched_full: Tensor
    baseline: Tensor
    baseline_std: Tensor
    baseline_full: Tensor
    baseline_full_std: Tensor
    ordered: Tensor
    ordered_std: Tensor
    wire_cosines: list[Tensor]
    ranks: list[int]


def _flat_cosine(a: Tensor, b: Tensor) -> Tensor:
    """Cosine of two tensors over their last three dimensions (…, n, m, m)."""
    a, b = a.flatten(-3), b.flatten(-3)
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))


def _signed_permutation(assign: Tensor, signs: Tensor) -> Tensor:
    """(k+1, k+1): M[0, 0] = 1 (the constant to itself), M[i, assign[i-1]] = signs[i-1]."""
    k = len(assign)
    m = torch.zeros(k + 1, k + 1, dtype=torch.float64)
    m[0, 0] = 1
    m[torch.arange(1, k + 1), assign + 1] = signs
    return m


def _reexpress(mats: Tensor, m_out: Tensor | None, m_in: Tensor) -> Tensor:
    """b's matrices (…, o, i, j) in a's directions: ``M_out B (M_in ⊗ M_in)ᵀ``; ``m_out``
    None: the output index is a class, not a wire."""
    out = torch.einsum("pi,qj,...oij->...opq", m_in, m_in, mats)
    return out if m_out is None else torch.einsum("po,...oij->...pij", m_out, out)


def _match_wires(grams: list[Tensor], ranks: list[int]) -> tuple[list[Tensor], list[Tensor]]:
    """Per wire read by a layer, b's top directions assigned one-to-one to a's by an optimal
    assignment on |cos| (the cross-Gram after ODT), each with its cosine's sign: the signed
    permutations (``_signed_permutation``) and the assigned pairs' |cos|."""
    from scipy.optimize import linear_sum_assignment

    matching, wire_cos = [], []
    for w, k in enumerate(ranks):
        cos = grams[w][0, 1 : k + 1, 1 : k + 1].double()
        rows, cols = linear_sum_assignment(-cos.abs().cpu().numpy())
        assign = torch.as_tensor(cols[rows.argsort()], dtype=torch.long)
        chosen = cos[torch.arange(k), assign]
        signs = torch.where(chosen < 0, -1.0, 1.0).double()
        matching.append(_signed_permutation(assign, signs))
        wire_cos.append(chosen.abs())
    return matching, wire_cos


def _random_signed(ranks: list[int], gen: torch.Generator, shuffle: bool) -> list[Tensor]:
    """One random signed permutation per wire (``shuffle=False``: the identity order, random
    signs only): the baselines of ``tree_similarity``."""
    return [
        _signed_permutation(
            torch.randperm(k, generator=gen) if shuffle else torch.arange(k),
            torch.randint(0, 2, (k,), generator=gen).double() * 2 - 1,
        )
        for k in ranks
    ]


def _layer_cosines(mats_a, mats_b, perm: list[Tensor], layer: int) -> tuple[Tensor, Tensor]:
    """b's matrices of ``layer`` re-expressed by the signed permutations ``perm`` and compared
    with a's: ``(cosine over every entry, cosine over the product block)``; the last layer's
    output index is a class, not a wire."""
    last = layer + 1 == len(mats_a)
    b = _reexpress(mats_b[layer], None if last else perm[layer + 1], perm[layer])
    a = mats_a[layer]
    core_a = a[:, 1:, 1:] if last else a[1:, 1:, 1:]
    core_b = b[..., :, 1:, 1:] if last else b[..., 1:, 1:, 1:]
    return _flat_cosine(a, b), _flat_cosine(core_a, core_b)


@torch.no_grad()
def tree_similarity(
    dec_a, dec_b, rank: int = 15, n_random: int = 200, seed: int = 0
) -> TreeSimilarity:
    """How similar two networks' tree interaction matrices are after matching directions.

    For every wire, b's top-``rank`` ODT directions are assigned one-to-one to a's by the
    cross-Gram of the two decomposed networks (``cross_grams``: after ODT it is the matrix
    of cosines between the directions, each a tensor over the input copies below the wire),
    an optimal assignment on |cos| (``scipy.optimize.linear_sum_assignment``), each with the
    sign of its cosine; the constant coordinate is matched to itself. b's interaction
    matrices (``compositional_tree(dec_b, rank)``: ``interactions[l]`` (o, i, j) and
    ``class_matrices`` (c, i, j)) are re-expressed in a's order and signs and compared with
    a's by their cosine, per layer. If b is a with its wires permuted and sign-flipped (a
    gauge), the cosine is 1. The baseline re-expresses b by ``n_random`` random signed
    permutations of the same wires instead; the ``ordered`` one keeps b's importance order
    with random signs (does the matching add anything to "most important with most
    important"?).

    ``dec_a``, ``dec_b``: ``odt`` results (``Decomposition``) of two networks of the same
    depth and input. ``rank`` is clipped to the narrower of the two wires.
    """
    from xnets_lite.analysis.interpret import check_decomposition, compositional_tree

    dec_a = check_decomposition(dec_a, "tree_similarity")
    dec_b = check_decomposition(dec_b, "tree_similarity")
    na, nb = dec_a.network, dec_b.network
    if len(na.layers) == 0:
        raise ValueError("tree_similarity needs networks with at least one bilinear layer")
    ranks = [min(rank, wa - 1, wb - 1) for wa, wb in zip(na.widths, nb.widths)]
    grams = cross_grams(na, nb, graded=False)  # checks same input, classes and depth
    ta, tb = compositional_tree(dec_a, ranks), compositional_tree(dec_b, ranks)
    mats_a = [t.double() for t in ta.interactions] + [ta.class_matrices.double()]
    mats_b = [t.double() for t in tb.interactions] + [tb.class_matrices.double()]
    n_layers = len(mats_a)
    matching, wire_cos = _match_wires(grams, ranks[:n_layers])
    gen = torch.Generator().manual_seed(seed)
    random = [_random_signed(ranks[:n_layers], gen, shuffle=True) for _ in range(n_random)]
    ordered = [_random_signed(ranks[:n_layers], gen, shuffle=False) for _ in range(n_random)]
    matched, matched_full, base, base_full, order = [], [], [], [], []
    for layer in range(n_layers):
        full, core = _layer_cosines(mats_a, mats_b, matching, layer)
        matched.append(core)
        matched_full.append(full)
        pairs = [_layer_cosines(mats_a, mats_b, perm, layer) for perm in random]
        base_full.append(torch.stack([p[0] for p in pairs]))
        base.append(torch.stack([p[1] for p in pairs]))
        order.append(
            torch.stack([_layer_cosines(mats_a, mats_b, perm, layer)[1] for perm in ordered])
        )
    base, base_full, order = torch.stack(base), torch.stack(base_full), torch.stack(order)
    return TreeSimilarity(
        matched=torch.stack(matched),
        matched_full=torch.stack(matched_full),
        baseline=base.mean(1),
        baseline_std=base.std(1),
        baseline_full=base_full.mean(1),
        baseline_full_std=base_full.std(1),
        ordered=order.mean(1),
        ordered_std=order.std(1),
        wire_cosines=wire_cos,
        ranks=ranks,
    )
