"""Does the weights-only reading hold up on data? Causal tests of a decomposed χ-net.

Notebooks 02–04 read a χ-net from its weights. This module checks, on data, that what they
read is what the network uses:

* **Ablation** — project the span of a class's top-k eigenvectors out of every input,
  ``x ← x − Vᵀ(V x)`` (V: k × d orthonormal rows), and measure the accuracy per true class.
  Controls: k random orthonormal directions, and the *local* reading (``local_directions``).
  ``mode="mean"`` replaces the projection by the training mean's instead of zeroing it
  (``x ← x − Vᵀ V (x − x̄)``), so the ablated images stay on the data's average.
* **Steering** — add ``α v_c`` (unit top eigenvector of class c) to images of other classes
  and count how many become c. Control: a random unit direction, same α.
* **Per-image explanation** — after ODT a logit is an exact sum over the top wire's
  coordinates, ``logit_c = Σ_j H[c, j] w_L[j] / s`` (``s = H[0]·w_L``, 1 without
  normalisation), and every coordinate an exact sum of pair products of the wire below,
  ``w_{l+1}[o] = Σ_{i,k} B[o, i, k] w_l[i] w_l[k]``.
* **Truncation per class**, and the **noise trade-off** (cleaner eigenvectors vs accuracy).

Controls: every reading is measured beside what could produce it trivially: random
directions, the linear template ``∇logit_c`` (``template_directions``), the centred class-mean
image and the class's principal components (``class_mean_directions``, data only, no
weights) and the local reading; and beside the class's signed interactions
(``quadratic_directions``). ``compare_readings`` sets them side by side. Controls that stay
strong for k > 1 (gradient covariance on data, one-vs-rest discriminants, energy-matched
random directions) are in ``controls.py``.

The measurements are here; the figures that draw them are in ``validation_figures.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from xnets_lite.analysis.interpret import ClassEigenvectors, class_eigenvectors, image_shape_of
from xnets_lite.analysis.interpret import top_pairs as _top_pairs
from xnets_lite.core import evaluation
from xnets_lite.core.model import XNet
from xnets_lite.core.network import BilinearLayer, Network, to_network
from xnets_lite.core.odt import Decomposition, check_ranks, odt


# ---------------------------------------------------------------------------------------
# Running a model on (transformed) inputs
# ---------------------------------------------------------------------------------------
def all_inputs(data) -> tuple[Tensor, Tensor]:
    """A whole ``Dataset`` as ``(x (N, d) float32 in [0, 1], labels (N,))``."""
    return data[0 : len(data)]


# ---------------------------------------------------------------------------------------
# Directions: global (ODT), local (first block alone), random
# ---------------------------------------------------------------------------------------
def orthonormalise(directions: Tensor) -> Tensor:
    """Orthonormal rows (k, d) spanning the rows of ``directions`` (k, d), by QR.

    Raises if they are linearly dependent (their span has fewer than k dimensions)."""
    if directions.dim() != 2 or directions.shape[0] > directions.shape[1]:
        raise ValueError(f"directions must be (k, d) with k ≤ d, got {tuple(directions.shape)}")
    q, r = torch.linalg.qr(directions.double().T)
    diag = r.diagonal().abs()
    if len(diag) and diag.min() <= 1e-10 * max(float(diag.max()), 1e-300):
        raise ValueError(
            f"the {directions.shape[0]} directions are linearly dependent (or one is "
            f"zero); pass independent directions"
        )
    return q.T.to(directions.dtype)


def project_out(x: Tensor, basis: Tensor, mean: Tensor | None = None) -> Tensor:
    """``x − (x Bᵀ) B``: remove the span of the orthonormal rows ``basis`` (k, d) from every
    row of ``x`` (N, d).

    With ``mean`` (d,), **mean replacement** instead: ``x − ((x − m) Bᵀ) B``, the projection
    onto the span replaced by that of ``m`` (e.g. the training mean) rather than by zero;
    ``m`` itself is left unchanged, and a ``mean`` orthogonal to the span gives zeroing."""
    basis = basis.to(device=x.device, dtype=x.dtype)
    if mean is None:
        return x - (x @ basis.T) @ basis
    mean = torch.as_tensor(mean).reshape(-1).to(device=x.device, dtype=x.dtype)
    return x - ((x - mean) @ basis.T) @ basis


def first_block(model_or_network) -> Network:
    """The network with its first block only: embedding → block 1 → head, every later block
    removed. For a residual χ-net removing a block leaves the residual stream, so this is
    the model with blocks 2… set to zero (tested). For a direct block (no residual) the head
    then reads block 1's products in place of the last block's: a cruder cut. For
    ``norm="rms"`` a block is two bilinear layers."""
    net = (
        model_or_network if isinstance(model_or_network, Network) else to_network(model_or_network)
    )
    per_block = 2 if net.meta.get("norm") == "rms" else 1
    return net.replace(layers=net.layers[:per_block])


def local_directions(
    model_or_network,
    k: int = 3,
    image_shape=None,
    sign_data: Tensor | None = None,
    sign_gradient: Tensor | None = None,
) -> ClassEigenvectors:
    """The **local (single-layer) reading**: the class eigenvectors of ``first_block``.

    Definition: run the same recipe as ``class_eigenvectors`` (the head row of class c as a
    quadratic form, pulled back to pixels, top eigenvectors) on the network cut after its
    first bilinear block. This is what one reads from the embedding and the first layer
    alone, the way one reads a one-layer bilinear model (for a one-layer model it *is* the
    global reading); the later layers' interactions are ignored. The ablation then asks
    whether the global decomposition is a better map of what the whole network uses.
    """
    return class_eigenvectors(
        odt(first_block(model_or_network)),
        k,
        image_shape,
        sign_data=sign_data,
        sign_gradient=sign_gradient,
    )


def random_directions(n_classes: int, k: int, d_input: int, seed: int = 0) -> Tensor:
    """(C, k, d) float64: for every class, k random orthonormal directions (a fresh draw per
    class, Gaussian then QR), from a generator seeded with ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    g = torch.randn(n_classes, d_input, k, generator=gen, dtype=torch.float64)
    return torch.linalg.qr(g).Q.mT.contiguous()


def template_directions(model, x_train: Tensor, k: int = 3) -> Tensor:
    """(C, k, d) float64: the **linear template** of every class, the trivial weight-based
    reading: ``∇logit_c`` at x = 0 (the template ``class_eigenvectors`` turns out to equal
    for a residual χ-net), then at the training mean, then averaged over ``x_train``, the
    first ``k`` of those three (each unit norm, signed by the rule: it raises the logit).
    For a logit that is linear in x the three coincide, and an ablation with k > 1 then
    refuses them as linearly dependent."""
    from xnets_lite.analysis.interpret import mean_gradient

    if not 1 <= k <= 3:
        raise ValueError(
            f"template_directions offers k in 1…3 (gradients at 0, at the mean, "
            f"mean gradient), got {k}"
        )
    x_train = x_train.reshape(len(x_train), -1)
    zero = torch.zeros(1, x_train.shape[1], dtype=x_train.dtype)
    points = [zero, x_train.double().mean(0, keepdim=True).to(x_train.dtype), x_train][:k]
    grads = torch.stack([mean_gradient(model, p) for p in points], dim=1)
    return grads / grads.norm(dim=-1, keepdim=True)


def class_mean_directions(data, k: int = 3, n_classes: int | None = None) -> Tensor:
    """(C, k, d) float64, **from data, no weights**: the centred class-mean image
    ``mean(x | c) − mean(x)``, then the top ``k − 1`` principal components of the class's
    own centred images (the next directions one would draw from the data alone), each unit
    norm, the class mean pointing towards the class and each component signed to correlate
    positively with it (ties: as computed). ``data``: a ``Dataset`` or an ``(x, y)`` pair."""
    x, y = data if isinstance(data, (tuple, list)) else all_inputs(data)
    x = x.reshape(len(x), -1).double()
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    mean = x.mean(0)
    out = []
    for c in range(n_classes):
        xc = x[y == c]
        if len(xc) < k:
            raise ValueError(f"class {c} has {len(xc)} images; class_mean_directions needs ≥ {k}")
        m = xc.mean(0) - mean
        vs = [m / m.norm()]
        if k > 1:
            _, _, vh = torch.linalg.svd(xc - xc.mean(0), full_matrices=False)
            for v in vh[: k - 1]:
                vs.append(v if float(v @ m) >= 0 else -v)
        out.append(torch.stack(vs))
    return torch.stack(out)


def quadratic_directions(
    model,
    k: int = 3,
    sign: str = "+",
    center=None,
    sign_data: Tensor | None = None,
    sign_gradient: Tensor | None = None,
) -> Tensor:
    """(C, k, d): the top-k eigenvectors of every class's signed interactions ``Q_c``
    (``interactions.class_interactions``), ``sign`` ``"+"`` (excitatory, positive
    eigenvalues) or ``"-"`` (inhibitory)."""
    from xnets_lite.analysis.interactions import class_interactions

    qf = class_interactions(
        model,
        k,
        center=center,
        sign_data=sign_data,
        sign_gradient=sign_gradient,
        image_shape=(1, model.config["d_input"]) if isinstance(model, XNet) else (1, model.d_input),
    )
    return qf.select(sign)[0]


# ---------------------------------------------------------------------------------------
# Ablation
# ---------------------------------------------------------------------------------------
#: How an ablation removes a span: ``"zero"`` sets the inputs' projection onto it to zero,
#: ``"mean"`` to that of a mean image (``project_out``).
ABLATION_MODES = ("zero", "mean")


def _check_mode(mode: str, mean) -> None:
    if mode not in ABLATION_MODES:
        raise ValueError(f"mode must be one of {ABLATION_MODES}, got {mode!r}")
    if (mode == "mean") != (mean is not None):
        raise ValueError(
            "mode='mean' needs the mean image (mean=x_train.mean(0)); mode='zero' takes none"
        )


def ablation_accuracy(
    model, data, directions: Tensor, batch_size: int = 1000, mode: str = "zero", mean=None
) -> Tensor:
    """Accuracy per true class (C,) after projecting the span of ``directions`` (k, d) out
    of every input (they are orthonormalised first): zeroed (``mode="zero"``) or replaced
    by the projection of ``mean`` (``mode="mean"``, ``x ← x − V Vᵀ(x − mean)``)."""
    _check_mode(mode, mean)
    basis = orthonormalise(torch.as_tensor(directions, dtype=torch.float64))
    return evaluation.per_class_accuracy(
        model, data, batch_size, transform=lambda x: project_out(x, basis, mean)
    )


@dataclass
class Ablation:
    """Per-class accuracy after removing each class's top-k directions.

    Attributes:
        ks: the k's measured, e.g. (1, 2, 3).
        accuracy: (len(ks), C_ablated, C_true) accuracy of true class t after removing the
            first k directions of class c.
        baseline: (C_true,) accuracy without ablation.
        name: which directions (``"global"``, ``"local"``, ``"random"`` …).
        mode: how the span was removed, ``"zero"`` or ``"mean"`` (``ABLATION_MODES``).
    """

    ks: tuple
    accuracy: Tensor
    baseline: Tensor
    name: str = ""
    mode: str = "zero"

    @property
    def drop(self) -> Tensor:
        """(len(ks), C, C) accuracy lost, in [−1, 1] (positive = worse after ablation)."""
        return self.baseline[None, None, :] - self.accuracy

    def index_of(self, k: int) -> int:
        """Position of ``k`` in ``ks`` (an error if that k was not measured)."""
        if k not in self.ks:
            raise ValueError(f"k={k} was not measured; this ablation has k in {self.ks}")
        return self.ks.index(k)

    def diagonal_drop(self, k: int) -> Tensor:
        """(C,): accuracy lost by class c when its own k directions are removed."""
        return self.drop[self.index_of(k)].diagonal()

    def off_diagonal_drop(self, k: int) -> Tensor:
        """(C,): mean accuracy lost by the *other* classes when c's k directions go."""
        d = self.drop[self.index_of(k)]
        n = d.shape[0]
        return (d.sum(1) - d.diagonal()) / (n - 1)


def ablation_matrix(
    model,
    data,
    directions: Tensor,
    ks=(1, 2, 3),
    name: str = "",
    batch_size: int = 1000,
    mode: str = "zero",
    mean: Tensor | None = None,
) -> Ablation:
    """For every class c and k in ``ks``: remove the span of ``directions[c, :k]`` from the
    inputs and measure the accuracy per true class.

    ``directions``: (C, K, d) with K ≥ max(ks), e.g. ``class_eigenvectors(dec, 3).vectors``,
    ``local_directions(model, 3).vectors`` or ``random_directions(C, 3, d)``. ``mode``:
    ``"zero"`` (the projection onto the span set to zero, ``x ← x − V Vᵀ x``) or ``"mean"``
    (**mean replacement**: set to that of ``mean`` (d,), pass the training mean image,
    ``x ← x − V Vᵀ(x − mean)``; the images keep their average along the span, so an
    ablation cannot hurt merely by moving every image off the data).
    """
    _check_mode(mode, mean)
    directions = torch.as_tensor(directions)
    ks = tuple(int(k) for k in ks)
    if directions.dim() != 3 or directions.shape[2] != data.d_input:
        raise ValueError(
            f"directions must be (classes, k, {data.d_input}), got {tuple(directions.shape)}"
        )
    if not ks or min(ks) < 1 or max(ks) > directions.shape[1]:
        raise ValueError(
            f"every k must be in [1, {directions.shape[1]}] (directions given per class), got {ks}"
        )
    acc = torch.stack(
        [
            torch.stack(
                [
                    ablation_accuracy(model, data, directions[c, :k], batch_size, mode, mean)
                    for c in range(directions.shape[0])
                ]
            )
            for k in ks
        ]
    )
    baseline = evaluation.per_class_accuracy(model, data, batch_size)
    return Ablation(ks, acc, baseline, name, mode)


def selectivity(ab: Ablation, k: int) -> float:
    """Mean accuracy lost by the ablated class minus that lost by the others (in [−1, 1]):
    a reading that names a class's own directions scores high; directions that break every
    class, or none, score near 0."""
    return float(ab.diagonal_drop(k).mean() - ab.off_diagonal_drop(k).mean())


@torch.no_grad()
def ablation_destinations(model, data, directions: Tensor, k: int, batch_size: int = 2000) -> dict:
    """Where the images go when a class's directions are removed: for every class c, the
    span of ``directions[c, :k]`` is projected out of every input of ``data`` (as in
    ``ablation_matrix``), and, among the images of the *other* classes,

    * ``before``, ``after`` (C,): the share predicted as c without and with the ablation;
    * ``of_lost`` (C,): of those the ablation makes wrong (right before, wrong after), the
      share now predicted as c (NaN where it makes none wrong).

    A reading under which c's directions keep other digits out of class c predicts
    ``after`` ≫ ``before``; directions that only break the other classes send their
    images anywhere (``of_lost`` near ``1 / (C − 1)`` or below).
    """
    x, y = all_inputs(data)
    directions = torch.as_tensor(directions)
    if directions.dim() != 3 or not 1 <= k <= directions.shape[1]:
        raise ValueError(
            f"directions must be (classes, K, d) with 1 ≤ k ≤ K, got "
            f"{tuple(directions.shape)} and k={k}"
        )
    first = evaluation.predict(model, x, batch_size)
    out = {"before": [], "after": [], "of_lost": []}
    for c in range(directions.shape[0]):
        basis = orthonormalise(directions[c, :k].double())
        now = evaluation.predict(model, project_out(x, basis), batch_size)
        other = y != c
        lost = other & (first == y) & (now != y)
        out["before"].append(float((first[other] == c).double().mean()))
        out["after"].append(float((now[other] == c).double().mean()))
        out["of_lost"].append(
            float((now[lost] == c).double().mean()) if lost.any() else float("nan")
        )
    return {key: torch.tensor(v, dtype=torch.float64) for key, v in out.items()}


def compare_readings(ablations: list[Ablation], reading: str, k: int, tie: float = 0.02) -> dict:
    """The reading named ``reading`` against every other set in ``ablations`` at ``k``, by
    ``selectivity``: ``{"k", "reading", "score", "best_control", "best_score", "verdict"}``
    with verdict ``"better"`` (above the best control by more than ``tie``), ``"tie"``
    (within ``tie``) or ``"worse"``."""
    scores = {ab.name: selectivity(ab, k) for ab in ablations}
    if reading not in scores:
        raise ValueError(f"no ablation named {reading!r}; have {sorted(scores)}")
    mine = scores.pop(reading)
    if not scores:
        raise ValueError("compare_readings needs at least one control besides the reading")
    best = max(scores, key=scores.get)
    gap = mine - scores[best]
    verdict = "better" if gap > tie else ("tie" if gap >= -tie else "worse")
    return {
        "k": k,
        "reading": reading,
        "score": mine,
        "best_control": best,
        "best_score": scores[best],
        "verdict": verdict,
    }


# ---------------------------------------------------------------------------------------
# Steering
# ---------------------------------------------------------------------------------------
@torch.no_grad()
def steering_sign(model, x: Tensor, v: Tensor, c: int, step: float | None = None) -> int:
    """+1 or −1: the sign of ``v`` along which logit c rises at the images ``x`` (N, d), to
    first order: the sign of the mean central difference
    ``mean[logit_c(x + h v) − logit_c(x − h v)]`` (+1 on a tie), with ``h`` = ``step`` or 1%
    of the mean image norm.

    An eigenvector's sign is arbitrary. It is fixed by the slope at the images rather than
    at a large step, because a logit is a polynomial of high degree: far out, its even
    terms dominate and both signs raise it (a reference run picked the wrong sign for two
    classes of ten that way)."""
    h = float(step) if step is not None else 0.01 * float(x.norm(dim=1).mean())
    up = evaluation.logits(model, x + h * v)[:, c].double()
    down = evaluation.logits(model, x - h * v)[:, c].double()
    return 1 if float((up - down).mean()) >= 0 else -1


@torch.no_grad()
def steered_share(model, x: Tensor, v: Tensor, c: int, alphas) -> Tensor:
    """(A,): share of the rows of ``x`` predicted as ``c`` after ``x + α v``, per α."""
    return torch.tensor(
        [float((evaluation.predict(model, x + float(a) * v) == c).double().mean()) for a in alphas],
        dtype=torch.float64,
    )


@dataclass
class Steering:
    """Share of other classes' images predicted as c after adding ``α v_c``.

    Attributes:
        alphas: (A,) step sizes (the direction has unit norm, so α is the added norm).
        share: (C, A) with the class's signed unit top eigenvector.
        random_share: (C, A) with a random unit direction (signed by the same rule).
        directions, random_directions: (C, d) the unit vectors used, signs applied.
        mean_norm: mean L2 norm of the images steered (for scale).
    """

    alphas: Tensor
    share: Tensor
    random_share: Tensor
    directions: Tensor
    random_directions: Tensor
    mean_norm: float

    def best(self) -> tuple[int, float]:
        """``(index of α, mean share over classes)`` at the α where the mean share is largest."""
        mean = self.share.mean(0)
        i = int(mean.argmax())
        return i, float(mean[i])


def steering(
    model,
    data,
    vectors: Tensor,
    alphas,
    seed: int = 0,
    max_images: int | None = None,
    random_control: bool = True,
) -> Steering:
    """Steer images of the other classes towards every class c along ``vectors[c]`` (C, d)
    (normalised to unit length, signed by ``steering_sign``), and along a seeded random
    unit direction (signed the same way) as the control. ``max_images`` caps the images per
    class (the first ones of ``data`` not of that class). ``random_control=False`` skips the
    random direction (its shares are then NaN): for a second set of directions on the same
    data, whose random control would repeat the first one's."""
    alphas = torch.as_tensor(alphas, dtype=torch.float64)
    if alphas.dim() != 1 or not len(alphas):
        raise ValueError("alphas must be a non-empty 1-d list of step sizes")
    x, y = all_inputs(data)
    vectors = torch.as_tensor(vectors, dtype=torch.float64)
    if vectors.dim() != 2 or vectors.shape[1] != x.shape[1]:
        raise ValueError(f"vectors must be (classes, {x.shape[1]}), got {tuple(vectors.shape)}")
    gen = torch.Generator().manual_seed(seed)
    rand = torch.randn(vectors.shape, generator=gen, dtype=torch.float64)
    out = {"share": [], "random_share": [], "directions": [], "random_directions": []}
    for c in range(vectors.shape[0]):
        xc = x[y != c][:max_images]
        for key, v in (("", vectors[c]), ("random_", rand[c])):
            if key and not random_control:
                out["random_directions"].append(torch.full_like(rand[c], float("nan")))
                out["random_share"].append(torch.full_like(alphas, float("nan")))
                continue
            v = (v / v.norm()).float()
            v = v * steering_sign(model, xc, v, c)
            out[key + "directions"].append(v.double())
            out[key + "share"].append(steered_share(model, xc, v, c, alphas))
    return Steering(
        alphas,
        *(
            torch.stack(out[k])
            for k in ("share", "random_share", "directions", "random_directions")
        ),
        mean_norm=float(x.norm(dim=1).mean()),
    )


# ---------------------------------------------------------------------------------------
# Per-image explanation
# ---------------------------------------------------------------------------------------
def pair_terms(layer: BilinearLayer, w: Tensor, o: int) -> Tensor:
    """(n_in, n_in) symmetric: the term of each product ``w[i] w[k]`` of one input ``w``
    (n_in,) in output coordinate ``o``; the entries sum exactly to ``layer(w)[o]``.

    ``P[i, k] = ½ Σ_h D[o, h] (L[h, i] R[h, k] + R[h, i] L[h, k]) w[i] w[k]``, i.e.
    ``layer.dense(symmetric=True)[o] * outer(w, w)`` without building the dense tensor.
    ``usage.pair_contributions`` sums such terms over named entries, for many inputs.
    """
    lw, rw = layer.left * w, layer.right * w  # (h, n): L[h, i] w[i]
    p = (lw.T * layer.down[o]) @ rw
    return (p + p.T) / 2


#: Terms per logit shown of an explanation: in its text (``validation_panels.explanation_lines``)
#: and its bars (``validation_figures.plot_explanation``), in the notebook and in the panel.
TERMS = 3


@dataclass
class Explanation:
    """One image read through the decomposed network (all in the ODT basis, float64).

    Attributes:
        image: (H, W) the input.
        label: its true class (or None).
        logits: (C,) the network's logits.
        predicted, runner_up: the top two classes.
        wires: per wire, its coordinates for this image (index 0 = the constant).
        scale: the homogeneous scale ``s`` (1 without normalisation).
        contributions: (C, n_L) ``H[c, j] w_L[j] / s``; row c sums exactly to ``logits[c]``.
        steps: the trace down the tree, top first: ``{"wire", "output", "value", "pairs",
            "rest"}`` = direction ``output`` of wire ``wire + 1`` (written by layer
            ``wire + 1``, counted from 1), its ``value``, its largest pair terms
            (i, k, contribution) of directions of wire ``wire``, and the sum of all other
            terms (``value = Σ pairs + rest``).
        features: wire-0 directions the trace reaches (not the constant).
        feature_images: (len(features), H, W) their input-space images (embedding rows).
    """

    image: Tensor
    label: int | None
    logits: Tensor
    predicted: int
    runner_up: int
    wires: list[Tensor]
    scale: float
    contributions: Tensor
    steps: list[dict] = field(default_factory=list)
    features: list[int] = field(default_factory=list)
    feature_images: Tensor | None = None

    def top_terms(self, c: int, top: int = 5) -> list[tuple[int, float]]:
        """Class c's ``top`` largest terms (j, contribution), by magnitude."""
        row = self.contributions[c]
        order = row.abs().argsort(descending=True)[:top]
        return [(int(j), float(row[j])) for j in order]


@torch.no_grad()
def explain_image(
    dec: Decomposition,
    x: Tensor,
    label: int | None = None,
    top: int = 3,
    rank=None,
    image_shape=None,
) -> Explanation:
    """Explain one input ``x`` (d,) or (H, W): exact term-by-term contributions to the
    logits, the wire coordinates, and a trace from the predicted class's ``top`` largest
    terms down to the first wire's features (``top`` pairs per direction, at most ``top``
    directions per wire). ``rank`` (int or per wire) explains the truncated network instead.
    """
    net = dec.network if rank is None else dec.truncate(rank)
    x = x.reshape(1, -1)
    if x.shape[1] != net.d_input:
        raise ValueError(f"the input has {x.shape[1]} values, the network {net.d_input} inputs")
    h, w = image_shape_of(net.d_input, image_shape)
    wires = [wv[0] for wv in net.wires(x)]
    out = net.head @ wires[-1]
    scale = float(out[0])
    logits = out[1:] / scale
    contributions = net.head[1:] * wires[-1] / scale
    order = logits.argsort(descending=True)
    expl = Explanation(
        x.reshape(h, w).double(),
        label,
        logits,
        int(order[0]),
        int(order[1]) if len(order) > 1 else int(order[0]),
        wires,
        scale,
        contributions,
    )
    frontier = [j for j, _ in expl.top_terms(expl.predicted, top + 1) if j != 0][:top]
    for layer_index in reversed(range(len(net.layers))):
        layer, below = net.layers[layer_index], wires[layer_index]
        weight = {}
        for o in frontier:
            pairs = _top_pairs(pair_terms(layer, below, o), top)
            value = float(wires[layer_index + 1][o])
            expl.steps.append(
                {
                    "wire": layer_index,
                    "output": o,
                    "value": value,
                    "pairs": pairs,
                    "rest": value - sum(p[2] for p in pairs),
                }
            )
            for i, k, v in pairs:
                for d in {i, k} - {0}:
                    weight[d] = max(weight.get(d, 0.0), abs(v))
        frontier = sorted(weight, key=weight.get, reverse=True)[:top]
    expl.features = frontier
    expl.feature_images = net.embed[frontier, 1:].reshape(len(frontier), h, w)
    return expl


# ---------------------------------------------------------------------------------------
# Truncation per class
# ---------------------------------------------------------------------------------------
def class_accuracy_vs_rank(dec: Decomposition, data, ranks) -> dict:
    """Accuracy per class of the truncated network for each rank in ``ranks`` (an int per
    entry = the same rank on every wire, or a list per wire).

    Returns ``ranks``, ``accuracy`` (len(ranks), C) and ``full`` (C,), the untruncated
    network's."""
    for r in ranks:
        check_ranks(dec.widths, r)
    acc = torch.stack([evaluation.per_class_accuracy(dec.truncate(r), data) for r in ranks])
    return {
        "ranks": list(ranks),
        "accuracy": acc,
        "full": evaluation.per_class_accuracy(dec.network, data),
    }


# ---------------------------------------------------------------------------------------
# Noise trade-off
# ---------------------------------------------------------------------------------------
@dataclass
class NoiseTradeoff:
    """One row per training-noise setting, and the class eigenvectors of each.

    ``rows``: dicts with ``std``, ``accuracy``, ``top_share_min``, ``top_share_mean`` (the top
    eigenvector's share of a class's energy, min and mean over classes),
    ``effective_dimensions`` (per wire, 99% of the energy), ``ablation_diagonal`` (mean
    accuracy lost by class c when its top-k eigenvectors are removed),
    ``ablation_off_diagonal`` (the same for the other classes) and ``selectivity`` (the
    first minus the second, ``selectivity``). ``eigenvectors``: std →
    ``ClassEigenvectors``."""

    rows: list[dict]
    eigenvectors: dict
    k: int

    def table(self) -> str:
        """The rows as text; the drops and the selectivity (own − others) in accuracy
        points (pts), the rest in %."""
        own = f"own drop (k={self.k})"
        head = (
            f"{'noise std':>9} {'accuracy':>9} {'top share min/mean':>19} "
            f"{'eff. dims per wire':>22} {own:>15} {'others':>7} {'own − others':>13}"
            f"  (drops in pts)"
        )
        lines = [head]
        for r in self.rows:
            lines.append(
                f"{r['std']:>9g} {r['accuracy']:>9.1%} "
                f"{r['top_share_min']:>9.0%} /{r['top_share_mean']:>7.0%} "
                f"{r['effective_dimensions']!s:>22} {100 * r['ablation_diagonal']:>15.1f} "
                f"{100 * r['ablation_off_diagonal']:>7.1f} {100 * r['selectivity']:>13.1f}"
            )
        return "\n".join(lines)


def noise_tradeoff(
    models: dict,
    data,
    k: int = 3,
    energy: float = 0.99,
    image_shape=None,
    sign_data: Tensor | None = None,
) -> NoiseTradeoff:
    """Measure each model of ``models`` (noise std → trained ``XNet``) on ``data``: test
    accuracy, how concentrated its class eigenvectors are, its effective dimensions, and how
    much removing each class's top-``k`` eigenvectors costs that class (and the others).
    ``sign_data``: the inputs of the course's sign rule (``interpret.orient``)."""
    if not models:
        raise ValueError("models is empty: pass {noise_std: trained XNet}")
    rows, eigen = [], {}
    for std in sorted(models):
        model = models[std]
        if not isinstance(model, XNet):
            raise TypeError(f"models[{std}] must be an XNet, got {type(model).__name__}")
        dec = odt(model)
        ce = class_eigenvectors(dec, k, image_shape, sign_data=sign_data)
        abl = ablation_matrix(model, data, ce.vectors, ks=(k,))
        top = ce.share[:, 0]
        rows.append(
            {
                "std": float(std),
                "accuracy": evaluation.accuracy(model, data),
                "top_share_min": float(top.min()),
                "top_share_mean": float(top.mean()),
                "effective_dimensions": dec.effective_dimensions(energy),
                "ablation_diagonal": float(abl.diagonal_drop(k).mean()),
                "ablation_off_diagonal": float(abl.off_diagonal_drop(k).mean()),
                "selectivity": selectivity(abl, k),
            }
        )
        eigen[float(std)] = ce
    return NoiseTradeoff(rows, eigen, k)


def steered_gallery(
    model, data, directions: Tensor, classes, alphas, image_shape=None, index: int = 0
) -> dict:
    """For each class c in ``classes``, the ``index``-th image of ``data`` not of class c,
    steered along ``directions[c]`` by every α: ``images`` (len(classes), A, H, W) and the
    predicted classes ``predicted`` (len(classes), A)."""
    x, y = all_inputs(data)
    h, w = image_shape_of(x.shape[1], image_shape)
    images, preds = [], []
    for c in classes:
        base = x[y != c][index]
        steered = torch.stack([base + float(a) * directions[c].float() for a in alphas])
        images.append(steered.reshape(-1, h, w))
        preds.append(evaluation.predict(model, steered))
    return {
        "classes": list(classes),
        "alphas": list(map(float, alphas)),
        "images": torch.stack(images),
        "predicted": torch.stack(preds),
    }
