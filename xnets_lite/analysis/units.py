"""The input's units: a condition of every weights-only reading, made explicit.

ODT's Grams, the class Grams and ``degrees.degree_energy`` all measure the tree's
coefficients over ``x̃ = [1, x]`` as if the constant and every input coordinate were
orthonormal. That inner product is a choice: measure the input in units of ``scale``,

    x' = x · constant / scale,        x̃' = [1, x'],

and the same function is a network of x' whose embedding is ``E diag(1, scale / constant, …)``
(``Units.fold``: the logits on ``Units.convert(x)`` are the model's on x, exactly). Its
degree-k coefficients are those of x times ``r^k`` (``r = scale / constant``), so:

* the **weights-only energy per degree** is ``E_k(r) = r^(2k) E_k(1)`` (``degree_energies``:
  one ``degree_energy`` computation gives every unit);
* which degree dominates a class Gram, its top eigenvector, its spectrum, the effective
  dimensions and the truncated network all move with ``r``: large ``r`` (an input of norm
  ≈ 1 like the constant, say) favours the high degrees, small ``r`` the constant and the
  linear template.

``constant`` is the weight of the constant coordinate against one input unit. Weighting the
constant by c with the unit s gives the tree of the unit s/c times ``c^(2^L)`` on every
coefficient, a factor no share, cosine, eigenvector or effective dimension sees; ``fold``
returns the former (so the logits stay exact), and only ``r = scale / constant`` matters.

**One layer, in two lines.** ``logit_c = x̃ᵀ T_c x̃`` with ``T_c = [[α, βᵀ], [β, Q]]``
symmetric (``β`` half the template ``∇logit_c(0)``, ``Q`` the interactions ``Q_c``). The
class Gram is ``T_c²`` and its pixel block is ``ββᵀ + Q²``; in units r, ``β → rβ`` and
``Q → r²Q``, so the pixel block is ``r² ββᵀ + r⁴ Q²``: a rank-one term along the template
against a term quadratic in ``Q_c``. The template wins the top eigenvector when r is small,
the interactions when r is large (``one_layer_pixel_gram``; tested in
``tests/test_units.py``).

Example::

    units = Units(scale=9.3, name="unit-norm images")
    net = units.fold(model)                       # float64 Network of x' = x / 9.3
    torch.allclose(net(units.convert(x)), model(x).double())   # True
    energies = degree_energies(model, [1.0, 9.3])  # (2, 2^L + 1, C)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from xnets_lite.analysis.degrees import as_network, degree_energy
from xnets_lite.core.network import Network


@dataclass(frozen=True)
class Units:
    """One choice of input units: ``x' = x · constant / scale``.

    Attributes:
        scale: how many raw input units make one unit of x' (1: the raw input, e.g. pixels
            in [0, 1]; the data's std; the mean image norm, so that images have norm ≈ 1).
        constant: the weight of the constant coordinate against one unit of x' (1 by
            default); only ``ratio = scale / constant`` changes any normalised reading.
        name: how outputs name these units.
    """

    scale: float = 1.0
    constant: float = 1.0
    name: str = ""

    def __post_init__(self):
        for key in ("scale", "constant"):
            value = getattr(self, key)
            if not (isinstance(value, (int, float)) and value > 0 and value < float("inf")):
                raise ValueError(f"Units.{key} must be a positive finite number, got {value!r}")
        object.__setattr__(self, "scale", float(self.scale))
        object.__setattr__(self, "constant", float(self.constant))

    @property
    def ratio(self) -> float:
        """``r = scale / constant``: a degree-k coefficient in these units is r^k times the
        raw one."""
        return self.scale / self.constant

    @property
    def label(self) -> str:
        text = f"x/{self.ratio:.3g}"
        return f"{self.name} ({text})" if self.name else text

    def convert(self, x: Tensor) -> Tensor:
        """Raw inputs (N, d) or images → x' (N, d) float64, the inputs of ``fold(model)``."""
        return x.reshape(len(x), -1).double() / self.ratio

    def fold(self, model) -> Network:
        """The float64 ``Network`` of x' with the logits of ``model`` (an ``XNet`` or a
        ``Network``) on x: the embedding ``E ← E diag(1, r, …, r)``."""
        net = as_network(model)
        d = torch.full((net.d_input + 1,), self.ratio, dtype=net.dtype, device=net.device)
        d[0] = 1.0
        return net.replace(embed=net.embed * d)


def standard_units(x_train: Tensor) -> list[Units]:
    """The course's three units, from training inputs ``x_train`` (N, d) or images: the raw
    input (pixels in [0, 1] on MNIST), the data's standard deviation (over all pixels and
    images, pooled: one pixel-std is one unit) and the mean image norm (images of norm ≈ 1,
    the constant's norm)."""
    x = x_train.reshape(len(x_train), -1).double()
    return [
        Units(1.0, name="raw input"),
        Units(float(x.std()), name="data std"),
        Units(float(x.norm(dim=1).mean()), name="unit-norm images"),
    ]


@torch.no_grad()
def degree_energies(model, ratios: Sequence[float], center=None) -> Tensor:
    """(S, 2^L + 1, C) float64: the weights-only energy of every degree and class
    (``degrees.degree_energy``, the symmetrised tree) in units of each ratio r of
    ``ratios``, ``E_k(r) = r^(2k) E_k(1)``, from one computation."""
    base = degree_energy(model, center=center)
    r = torch.as_tensor([float(v) for v in ratios], dtype=base.dtype)
    if (r <= 0).any():
        raise ValueError(f"every ratio must be positive, got {list(ratios)}")
    k = torch.arange(base.shape[0], dtype=base.dtype)
    return r[:, None, None] ** (2 * k)[None, :, None] * base[None]


def energy_shares(energies: Tensor) -> Tensor:
    """(…, D): the share of each degree in the energy summed over classes, from
    ``degree_energies`` (…, D, C)."""
    total = energies.sum(-1)
    return total / total.sum(-1, keepdim=True)


@torch.no_grad()
def one_layer_pixel_gram(model, c: int, ratio: float = 1.0) -> tuple[Tensor, Tensor]:
    """For a one-layer χ-net (or ``Network``) and class c, the two terms of the class Gram's
    pixel block in units r: ``(r² ββᵀ, r⁴ Q²)``, with ``logit_c = α + 2βᵀx + xᵀQx`` (Q
    symmetric). Their sum is the pixel block ``class_eigenvectors`` diagonalises."""
    net = Units(ratio).fold(model)
    if len(net.layers) != 1:
        raise ValueError(f"one_layer_pixel_gram needs one bilinear layer, got {len(net.layers)}")
    layer = net.layers[0]
    w = net.head[1 + c] @ layer.down  # (k,)
    left, right = layer.left @ net.embed, layer.right @ net.embed  # (k, d+1)
    t = torch.einsum("h,hi,hj->ij", w, left, right)
    t = (t + t.T) / 2
    beta, q = t[1:, 0], t[1:, 1:]
    return torch.outer(beta, beta), q @ q


@torch.no_grad()
def unit_readings(model, units: Units, x: Tensor, y: Tensor, rank: int = 8) -> dict:
    """The weights-only readings of ``model`` in ``units``, each a function of the units:

    ``cosine`` (C,) |cos(top class-Gram eigenvector, linear template ∇logit_c(0))|;
    ``top_share`` (C,) the top eigenvalue's share of the class Gram's pixel block;
    ``effective`` per wire, the directions holding 99% of ODT's spectrum;
    ``accuracy`` of the network truncated to ``rank`` directions per wire on ``(x, y)``
    (raw inputs, converted here), and ``full`` the untruncated accuracy (the same in every
    unit: a check of the fold); ``energy_share`` (D,) each degree's share of the
    weights-only energy (``degree_energies``)."""
    from xnets_lite.analysis.interpret import (
        class_eigenvectors,
        gradient_at_zero,
        template_cosines,
    )
    from xnets_lite.core.evaluation import accuracy
    from xnets_lite.core.odt import odt

    net = units.fold(model)
    dec = odt(net)
    ce = class_eigenvectors(dec, k=1)
    data = (units.convert(x), y)
    return {
        "units": units.label,
        "ratio": units.ratio,
        "cosine": template_cosines(ce, gradient_at_zero(dec.network))[:, 0],
        "top_share": ce.share[:, 0],
        "effective": dec.effective_dimensions(0.99),
        "accuracy": accuracy(dec.truncate(rank), data),
        "full": accuracy(dec.network, data),
        "rank": rank,
        "energy_share": energy_shares(degree_energies(net, [1.0]))[0],
    }


def unit_line(kind: str, r: dict) -> str:
    """One printable line of ``unit_readings``, every value labelled with its units."""
    cos, share, e = r["cosine"], r["top_share"], r["energy_share"]
    return (
        f"{kind:12} {r['units']:<26} |cos(top eigvec, template)| {cos.min():.3f}–{cos.max():.3f} "
        f"| top share {share.mean():.2f} | energy in degrees 0–1 {float(e[:2].sum()):.1%} "
        f"| effective dims (99%, constant included) {r['effective']} "
        f"| rank {r['rank']}: {r['accuracy']:.1%} "
        f"(full {r['full']:.1%})"
    )
