"""Does the weights-only reading hold up on data? Causal tests of a decomposed χ-net.

Notebooks 02–04 read a χ-net from its weights. This module checks, on data, that what they
read is what the network uses:

* **Ablation** — project the span of a class's top-k eigenvectors out of every input,
  ``x ← x − Vᵀ(V x)`` (V: k × d orthonormal rows), and measure the accuracy per true class.
  Controls: k random orthonormal directions, and the *local* reading (``local_directions``).
* **Steering** — add ``α v_c`` (unit top eigenvector of class c) to images of other classes
  and count how many become c. Control: a random unit direction, same α.
* **Per-image explanation** — after ODT a logit is an exact sum over the top wire's
  coordinates, ``logit_c = Σ_j H[c, j] w_L[j] / s`` (``s = H[0]·w_L``, 1 without
  normalisation), and every coordinate an exact sum of pair products of the wire below,
  ``w_{l+1}[o] = Σ_{i,k} B[o, i, k] w_l[i] w_l[k]``.
* **Truncation per class**, and the **noise trade-off** (cleaner eigenvectors vs accuracy).

Measurements come first, then the figures (each a ``matplotlib.figure.Figure``, never
registered with pyplot, so a notebook shows it only where it is saved or displayed).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from .interpret import ClassEigenvectors, _image_shape, _top_pairs, class_eigenvectors
from .model import XNet
from .network import BilinearLayer, Network, to_network
from .odt import Decomposition, check_ranks, odt


# ---------------------------------------------------------------------------------------
# Running a model on (transformed) inputs
# ---------------------------------------------------------------------------------------
def _where(model) -> tuple[torch.device, torch.dtype]:
    if isinstance(model, Network):
        return model.device, model.dtype
    p = next(model.parameters())
    return p.device, p.dtype


@torch.no_grad()
def logits_of(model, x: Tensor) -> Tensor:
    """Logits (B, C) of an ``nn.Module`` or ``Network`` for inputs ``x`` (B, d), computed in
    the model's own dtype and device (an input in another dtype is cast, not rejected)."""
    device, dtype = _where(model)
    was_training = getattr(model, "training", False)
    if was_training:
        model.eval()
    try:
        return model(x.to(device=device, dtype=dtype))
    finally:
        if was_training:
            model.train()


def _all_inputs(data) -> tuple[Tensor, Tensor]:
    """A whole ``Dataset`` as ``(x (N, d) float32 in [0, 1], labels (N,))``."""
    return data[0:len(data)]


@torch.no_grad()
def predict(model, x: Tensor, batch_size: int = 2000) -> Tensor:
    """Predicted classes (N,) for inputs (N, d), in batches."""
    return torch.cat([logits_of(model, x[i:i + batch_size]).argmax(-1).cpu()
                      for i in range(0, len(x), batch_size)])


def per_class_accuracy(model, data, transform=None, batch_size: int = 1000) -> Tensor:
    """Accuracy per true class (C,) float64, on ``data`` with every batch of inputs (B, d)
    passed through ``transform`` first (``None`` = as is). A class absent from ``data``
    gets NaN."""
    n_classes = data.n_classes
    correct = torch.zeros(n_classes, dtype=torch.float64)
    total = torch.zeros(n_classes, dtype=torch.float64)
    for x, y in data.batches(batch_size):
        if transform is not None:
            x = transform(x)
        hit = (predict(model, x, batch_size) == y).double()
        correct += torch.bincount(y, hit, minlength=n_classes)
        total += torch.bincount(y, minlength=n_classes).double()
    return correct / total


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
        raise ValueError(f"the {directions.shape[0]} directions are linearly dependent (or one is "
                         f"zero); pass independent directions")
    return q.T.to(directions.dtype)


def project_out(x: Tensor, basis: Tensor) -> Tensor:
    """``x − (x Bᵀ) B``: remove the span of the orthonormal rows ``basis`` (k, d) from every
    row of ``x`` (N, d)."""
    basis = basis.to(device=x.device, dtype=x.dtype)
    return x - (x @ basis.T) @ basis


def global_directions(dec: Decomposition, k: int = 3, image_shape=None) -> ClassEigenvectors:
    """The reading under test: each class's top-k eigenvectors (``class_eigenvectors``)."""
    return class_eigenvectors(dec, k, image_shape)


def first_block(model_or_network) -> Network:
    """The network with its first block only: embedding → block 1 → head, every later block
    removed. For a residual χ-net removing a block leaves the residual stream, so this is
    the model with blocks 2… set to zero (tested). For a direct block (no residual) the head
    then reads block 1's products in place of the last block's: a cruder cut. For
    ``norm="rms"`` a block is two bilinear layers."""
    net = (model_or_network if isinstance(model_or_network, Network)
           else to_network(model_or_network))
    per_block = 2 if net.meta.get("norm") == "rms" else 1
    return net.replace(layers=net.layers[:per_block])


def local_directions(model_or_network, k: int = 3, image_shape=None) -> ClassEigenvectors:
    """The **local (single-layer) reading**: the class eigenvectors of ``first_block``.

    Definition: run the same recipe as ``class_eigenvectors`` (the head row of class c as a
    quadratic form, pulled back to pixels, top eigenvectors) on the network cut after its
    first bilinear block. This is what one reads from the embedding and the first layer
    alone, the way one reads a one-layer bilinear model (for a one-layer model it *is* the
    global reading); the later layers' interactions are ignored. The ablation then asks
    whether the global decomposition is a better map of what the whole network uses.
    """
    return class_eigenvectors(odt(first_block(model_or_network)), k, image_shape)


def random_directions(n_classes: int, k: int, d_input: int, seed: int = 0) -> Tensor:
    """(C, k, d) float64: for every class, k random orthonormal directions (a fresh draw per
    class, Gaussian then QR), from a generator seeded with ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    g = torch.randn(n_classes, d_input, k, generator=gen, dtype=torch.float64)
    return torch.linalg.qr(g).Q.mT.contiguous()


# ---------------------------------------------------------------------------------------
# Ablation
# ---------------------------------------------------------------------------------------
def ablation_accuracy(model, data, directions: Tensor, batch_size: int = 1000) -> Tensor:
    """Accuracy per true class (C,) after projecting the span of ``directions`` (k, d) out
    of every input (they are orthonormalised first)."""
    basis = orthonormalise(torch.as_tensor(directions, dtype=torch.float64))
    return per_class_accuracy(model, data, lambda x: project_out(x, basis), batch_size)


@dataclass
class Ablation:
    """Per-class accuracy after removing each class's top-k directions.

    Attributes:
        ks: the k's measured, e.g. (1, 2, 3).
        accuracy: (len(ks), C_ablated, C_true) accuracy of true class t after removing the
            first k directions of class c.
        baseline: (C_true,) accuracy without ablation.
        name: which directions (``"global"``, ``"local"``, ``"random"`` …).
    """

    ks: tuple
    accuracy: Tensor
    baseline: Tensor
    name: str = ""

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


def ablation_matrix(model, data, directions: Tensor, ks=(1, 2, 3), name: str = "",
                    batch_size: int = 1000) -> Ablation:
    """For every class c and k in ``ks``: remove the span of ``directions[c, :k]`` from the
    inputs and measure the accuracy per true class.

    ``directions``: (C, K, d) with K ≥ max(ks), e.g. ``global_directions(dec, 3).vectors``,
    ``local_directions(model, 3).vectors`` or ``random_directions(C, 3, d)``.
    """
    directions = torch.as_tensor(directions)
    ks = tuple(int(k) for k in ks)
    if directions.dim() != 3 or directions.shape[2] != data.d_input:
        raise ValueError(f"directions must be (classes, k, {data.d_input}), got "
                         f"{tuple(directions.shape)}")
    if not ks or min(ks) < 1 or max(ks) > directions.shape[1]:
        raise ValueError(f"every k must be in [1, {directions.shape[1]}] (directions given per "
                         f"class), got {ks}")
    acc = torch.stack([torch.stack([ablation_accuracy(model, data, directions[c, :k], batch_size)
                                    for c in range(directions.shape[0])]) for k in ks])
    return Ablation(ks, acc, per_class_accuracy(model, data, batch_size=batch_size), name)


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
    up = logits_of(model, x + h * v)[:, c].double()
    down = logits_of(model, x - h * v)[:, c].double()
    return 1 if float((up - down).mean()) >= 0 else -1


@torch.no_grad()
def steered_share(model, x: Tensor, v: Tensor, c: int, alphas) -> Tensor:
    """(A,): share of the rows of ``x`` predicted as ``c`` after ``x + α v``, per α."""
    return torch.tensor([float((predict(model, x + float(a) * v) == c).double().mean())
                         for a in alphas], dtype=torch.float64)


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


def steering(model, data, vectors: Tensor, alphas, seed: int = 0,
             max_images: int | None = None) -> Steering:
    """Steer images of the other classes towards every class c along ``vectors[c]`` (C, d)
    (normalised to unit length, signed by ``steering_sign``), and along a seeded random
    unit direction (signed the same way) as the control. ``max_images`` caps the images per
    class (the first ones of ``data`` not of that class)."""
    alphas = torch.as_tensor(alphas, dtype=torch.float64)
    if alphas.dim() != 1 or not len(alphas):
        raise ValueError("alphas must be a non-empty 1-d list of step sizes")
    x, y = _all_inputs(data)
    vectors = torch.as_tensor(vectors, dtype=torch.float64)
    if vectors.dim() != 2 or vectors.shape[1] != x.shape[1]:
        raise ValueError(f"vectors must be (classes, {x.shape[1]}), got {tuple(vectors.shape)}")
    gen = torch.Generator().manual_seed(seed)
    rand = torch.randn(vectors.shape, generator=gen, dtype=torch.float64)
    out = dict(share=[], random_share=[], directions=[], random_directions=[])
    for c in range(vectors.shape[0]):
        xc = x[y != c][:max_images]
        for key, v in (("", vectors[c]), ("random_", rand[c])):
            v = (v / v.norm()).float()
            v = v * steering_sign(model, xc, v, c)
            out[key + "directions"].append(v.double())
            out[key + "share"].append(steered_share(model, xc, v, c, alphas))
    return Steering(alphas, *(torch.stack(out[k]) for k in ("share", "random_share", "directions",
                                                             "random_directions")),
                    mean_norm=float(x.norm(dim=1).mean()))


# ---------------------------------------------------------------------------------------
# Per-image explanation
# ---------------------------------------------------------------------------------------
def pair_contributions(layer: BilinearLayer, w: Tensor, o: int) -> Tensor:
    """(n_in, n_in) symmetric: how much each product ``w[i] w[k]`` of the input wire adds to
    output coordinate ``o``; the entries sum exactly to ``layer(w)[o]``.

    ``P[i, k] = ½ Σ_h D[o, h] (L[h, i] R[h, k] + R[h, i] L[h, k]) w[i] w[k]``.
    """
    lw, rw = layer.left * w, layer.right * w        # (h, n): L[h, i] w[i]
    p = (lw.T * layer.down[o]) @ rw
    return (p + p.T) / 2


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
def explain_image(dec: Decomposition, x: Tensor, label: int | None = None, top: int = 3,
                  rank=None, image_shape=None) -> Explanation:
    """Explain one input ``x`` (d,) or (H, W): exact term-by-term contributions to the
    logits, the wire coordinates, and a trace from the predicted class's ``top`` largest
    terms down to the first wire's features (``top`` pairs per direction, at most ``top``
    directions per wire). ``rank`` (int or per wire) explains the truncated network instead.
    """
    net = dec.network if rank is None else dec.truncate(rank)
    x = x.reshape(1, -1)
    if x.shape[1] != net.d_input:
        raise ValueError(f"the input has {x.shape[1]} values, the network {net.d_input} inputs")
    h, w = _image_shape(net.d_input, image_shape)
    wires = [wv[0] for wv in net.wires(x)]
    out = net.head @ wires[-1]
    scale = float(out[0])
    logits = out[1:] / scale
    contributions = net.head[1:] * wires[-1] / scale
    order = logits.argsort(descending=True)
    expl = Explanation(x.reshape(h, w).double(), label, logits, int(order[0]),
                       int(order[1]) if len(order) > 1 else int(order[0]), wires, scale,
                       contributions)
    frontier = [j for j, _ in expl.top_terms(expl.predicted, top + 1) if j != 0][:top]
    for layer_index in reversed(range(len(net.layers))):
        layer, below = net.layers[layer_index], wires[layer_index]
        weight = {}
        for o in frontier:
            pairs = _top_pairs(pair_contributions(layer, below, o), top)
            value = float(wires[layer_index + 1][o])
            expl.steps.append(dict(wire=layer_index, output=o, value=value, pairs=pairs,
                                   rest=value - sum(p[2] for p in pairs)))
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
    acc = torch.stack([per_class_accuracy(dec.truncate(r), data) for r in ranks])
    return dict(ranks=list(ranks), accuracy=acc, full=per_class_accuracy(dec.network, data))


# ---------------------------------------------------------------------------------------
# Noise trade-off
# ---------------------------------------------------------------------------------------
@dataclass
class NoiseTradeoff:
    """One row per training-noise setting, and the class eigenvectors of each.

    ``rows``: dicts with ``std``, ``accuracy``, ``top_share_min``, ``top_share_mean`` (the top
    eigenvector's share of a class's energy, min and mean over classes),
    ``effective_dimensions`` (per wire, 99% of the energy), ``ablation_diagonal`` (mean
    accuracy lost by class c when its top-k eigenvectors are removed) and
    ``ablation_off_diagonal`` (the same for the other classes). ``eigenvectors``: std →
    ``ClassEigenvectors``."""

    rows: list[dict]
    eigenvectors: dict
    k: int

    def table(self) -> str:
        own = f"own drop (k={self.k})"
        head = (f"{'noise std':>9} {'accuracy':>9} {'top share min/mean':>19} "
                f"{'eff. dims per wire':>22} {own:>15} {'others':>7}")
        lines = [head]
        for r in self.rows:
            lines.append(f"{r['std']:>9g} {r['accuracy']:>9.1%} "
                         f"{r['top_share_min']:>9.0%} /{r['top_share_mean']:>7.0%} "
                         f"{str(r['effective_dimensions']):>22} {r['ablation_diagonal']:>15.1%} "
                         f"{r['ablation_off_diagonal']:>7.1%}")
        return "\n".join(lines)


def noise_tradeoff(models: dict, data, k: int = 3, energy: float = 0.99,
                   image_shape=None) -> NoiseTradeoff:
    """Measure each model of ``models`` (noise std → trained ``XNet``) on ``data``: test
    accuracy, how concentrated its class eigenvectors are, its effective dimensions, and how
    much removing each class's top-``k`` eigenvectors costs that class (and the others)."""
    if not models:
        raise ValueError("models is empty: pass {noise_std: trained XNet}")
    rows, eigen = [], {}
    for std in sorted(models):
        model = models[std]
        if not isinstance(model, XNet):
            raise TypeError(f"models[{std}] must be an XNet, got {type(model).__name__}")
        dec = odt(model)
        ce = class_eigenvectors(dec, k, image_shape)
        abl = ablation_matrix(model, data, ce.vectors, ks=(k,))
        top = ce.share[:, 0]
        correct = predict(model, _all_inputs(data)[0]) == data.labels
        rows.append(dict(std=float(std), accuracy=float(correct.double().mean()),
                         top_share_min=float(top.min()), top_share_mean=float(top.mean()),
                         effective_dimensions=dec.effective_dimensions(energy),
                         ablation_diagonal=float(abl.diagonal_drop(k).mean()),
                         ablation_off_diagonal=float(abl.off_diagonal_drop(k).mean())))
        eigen[float(std)] = ce
    return NoiseTradeoff(rows, eigen, k)


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------
DIVERGING = "RdBu_r"   # heat maps of accuracy lost: red = lost, blue = gained (colour bar)
POSITIVE, NEGATIVE = "C0", "C3"   # bars: blue > 0, red < 0, as ``plots.show_image``


def _figure(width: float, height: float):
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), layout="constrained")


def plot_ablation(results: list[Ablation], k: int = 3, title: str = ""):
    """Side-by-side heat maps (ablated class × true class) of the accuracy lost, in points,
    when each class's top-k directions are removed, one panel per set of directions, on one
    shared colour scale (red = accuracy lost, blue = gained)."""
    fig = _figure(3.3 * len(results) + 0.8, 3.5)
    axes = fig.subplots(1, len(results), squeeze=False)[0]
    drops = [100 * r.drop[r.index_of(k)].numpy() for r in results]
    vmax = max(max(abs(float(d.min())), abs(float(d.max()))) for d in drops) or 1.0
    for ax, r, d in zip(axes, results, drops):
        im = ax.imshow(d, cmap=DIVERGING, vmin=-vmax, vmax=vmax)
        n = d.shape[0]
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.tick_params(labelsize=7)
        ax.set_xlabel("true class", fontsize=8)
        diag = float(r.diagonal_drop(k).mean()) * 100
        off = float(r.off_diagonal_drop(k).mean()) * 100
        ax.set_title(f"{r.name}: own {diag:.0f} · others {off:.1f} pts", fontsize=8)
    axes[0].set_ylabel(f"class whose top-{k} directions are removed", fontsize=8)
    fig.colorbar(im, ax=list(axes), shrink=0.85, label="accuracy lost (points); red = lost")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def plot_ablation_vs_k(results: list[Ablation], title: str = ""):
    """Mean accuracy lost by the ablated class (solid) and by the other classes (dashed)
    against the number k of directions removed, one colour per set of directions."""
    fig = _figure(5.8, 3.4)
    ax = fig.subplots()
    for i, r in enumerate(results):
        own = [100 * float(r.diagonal_drop(k).mean()) for k in r.ks]
        others = [100 * float(r.off_diagonal_drop(k).mean()) for k in r.ks]
        ax.plot(r.ks, own, "o-", color=f"C{i}", label=f"{r.name}: ablated class")
        ax.plot(r.ks, others, "s--", color=f"C{i}", label=f"{r.name}: other classes")
    ax.set_xticks(results[0].ks)
    ax.set_xlabel("directions removed (k)")
    ax.set_ylabel("accuracy lost (points)")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(title, fontsize=9)
    return fig


def plot_steering(result: Steering, title: str = ""):
    """Share of other classes' images predicted as c against α: one line per class along
    its top eigenvector (colours), and the random-direction control (grey, dashed)."""
    fig = _figure(5.2, 3.4)
    ax = fig.subplots()
    alphas = result.alphas.numpy()
    for c in range(result.share.shape[0]):
        ax.plot(alphas, 100 * result.share[c].numpy(), "-", color=f"C{c % 10}", lw=1.3,
                label=f"class {c}")
        ax.plot(alphas, 100 * result.random_share[c].numpy(), "--", color="0.6", lw=0.8,
                label="random direction" if c == 0 else None)
    ax.axvline(result.mean_norm, color="k", lw=0.8, ls=":")
    ax.text(result.mean_norm, 50, " mean image norm", fontsize=7, va="center")
    ax.set_xlabel("α (norm of the added direction)")
    ax.set_ylabel("% of other classes' images → c")
    ax.set_ylim(-3, 103)
    ax.legend(fontsize=6, ncol=2, frameon=False, loc="upper left")
    ax.set_title(title, fontsize=9)
    return fig


def steered_gallery(model, data, directions: Tensor, classes, alphas, image_shape=None,
                    index: int = 0) -> dict:
    """For each class c in ``classes``, the ``index``-th image of ``data`` not of class c,
    steered along ``directions[c]`` by every α: ``images`` (len(classes), A, H, W) and the
    predicted classes ``predicted`` (len(classes), A)."""
    x, y = _all_inputs(data)
    h, w = _image_shape(x.shape[1], image_shape)
    images, preds = [], []
    for c in classes:
        base = x[y != c][index]
        steered = torch.stack([base + float(a) * directions[c].float() for a in alphas])
        images.append(steered.reshape(-1, h, w))
        preds.append(predict(model, steered))
    return dict(classes=list(classes), alphas=list(map(float, alphas)),
                images=torch.stack(images), predicted=torch.stack(preds))


def plot_steering_gallery(gallery: dict, title: str = ""):
    """Rows: target classes; columns: α. Each image in gray on its own scale (darkest to
    brightest), titled with the model's prediction."""
    images, preds = gallery["images"], gallery["predicted"]
    rows, cols = images.shape[:2]
    fig = _figure(1.25 * cols + 0.4, 1.35 * rows + 0.3)
    axes = fig.subplots(rows, cols, squeeze=False)
    for r in range(rows):
        c = gallery["classes"][r]
        for j in range(cols):
            ax = axes[r, j]
            ax.imshow(images[r, j].numpy(), cmap="gray", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            hit = int(preds[r, j]) == c
            ax.set_title(f"α={gallery['alphas'][j]:g} → {int(preds[r, j])}", fontsize=7,
                         color="C3" if hit else "k")
        axes[r, 0].set_ylabel(f"towards {c}", fontsize=8)
    fig.suptitle((title + "\n" if title else "") + "red title: predicted as the target class "
                 "(each image on its own gray scale)", fontsize=8)
    return fig


def plot_explanation(expl: Explanation, top: int = 6, title: str = ""):
    """One image explained: the input; the largest terms of the predicted and the runner-up
    logit (bars, coordinate j of the top wire; red = positive contribution); the values of
    every wire's leading coordinates; the first-wire features the trace reaches."""
    from .plots import show_image, sign_colorbar
    from .widgets import direction_name

    n_feat, n_wires = len(expl.features), len(expl.wires)
    fig = _figure(11, 5.6)
    top_row, bottom = fig.subfigures(2, 1, height_ratios=[1.25, 1])
    ax_img, ax_terms, ax_wires = top_row.subplots(1, 3, width_ratios=[0.8, 1.6, 1.6])
    ax_img.imshow(expl.image.numpy(), cmap="gray", interpolation="nearest")
    ax_img.set_xticks([])
    ax_img.set_yticks([])
    ax_img.set_title(f"label {expl.label} → predicted {expl.predicted}\n"
                     f"(runner-up {expl.runner_up})", fontsize=8)
    for offset, c in ((-0.2, expl.predicted), (0.2, expl.runner_up)):
        terms = expl.top_terms(c, top)
        ys = [i + offset for i in range(len(terms))]
        vals = [v for _, v in terms]
        ax_terms.barh(ys, vals, height=0.38, color=[POSITIVE if v > 0 else NEGATIVE for v in vals],
                      alpha=1.0 if c == expl.predicted else 0.45)
        for yy, (j, v) in zip(ys, terms):
            ax_terms.text(v, yy, f" {direction_name(n_wires - 1, j)} (class {c})",
                          fontsize=6, va="center", ha="left" if v >= 0 else "right")
    ax_terms.axvline(0, color="k", lw=0.6)
    ax_terms.invert_yaxis()
    ax_terms.set_yticks([])
    ax_terms.set_xlabel("contribution to the logit", fontsize=8)
    first, second = expl.predicted, expl.runner_up
    ax_terms.set_title(f"largest terms: logit {first} = {float(expl.logits[first]):.2f} (solid), "
                       f"logit {second} = {float(expl.logits[second]):.2f} (faded); "
                       f"blue > 0, red < 0",
                       fontsize=8)
    for wire, values in enumerate(expl.wires):
        v = values[1:21].abs().numpy()
        ax_wires.plot(range(1, len(v) + 1), v, "o-", ms=3, lw=0.8, label=f"wire w{wire}")
    ax_wires.set_xlabel("direction k of wire wl (ODT order; constant left out)", fontsize=8)
    ax_wires.set_ylabel("|coordinate|", fontsize=8)
    ax_wires.legend(fontsize=6, frameon=False)
    ax_wires.set_title("which directions fire", fontsize=8)
    for ax in (ax_terms, ax_wires):
        ax.tick_params(labelsize=7)
    axes = bottom.subplots(1, max(n_feat, 1), squeeze=False)[0]
    for ax, d, image in zip(axes, expl.features, expl.feature_images):
        show_image(ax, image, f"{direction_name(0, d)} = {float(expl.wires[0][d]):+.2f}")
    if n_feat:
        sign_colorbar(bottom, axes, label="own max |value|")
    else:
        axes[0].set_axis_off()
    bottom.suptitle("first-wire features the trace reaches (value = its coordinate for this "
                    "image)", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def plot_class_truncation(result: dict, title: str = ""):
    """Accuracy per class against the rank kept per wire (log scale), one line per class,
    with each class's full-network accuracy as a tick at the right."""
    ranks = [r if isinstance(r, int) else max(r) for r in result["ranks"]]
    fig = _figure(5.4, 3.4)
    ax = fig.subplots()
    for c in range(result["accuracy"].shape[1]):
        ax.plot(ranks, 100 * result["accuracy"][:, c].numpy(), "o-", ms=3, lw=1.1,
                color=f"C{c % 10}", label=f"class {c}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ranks, [str(r) for r in ranks])
    ax.minorticks_off()
    ax.set_xlabel("directions kept per wire (besides the constant)")
    ax.set_ylabel("accuracy on the class (%)")
    ax.legend(fontsize=6, ncol=2, frameon=False)
    ax.set_title(title, fontsize=9)
    return fig


def plot_noise_rows(tradeoff: NoiseTradeoff, title: str = ""):
    """One row per noise setting: every class's top eigenvector, titled with its share."""
    from .plots import show_image, sign_colorbar

    stds = sorted(tradeoff.eigenvectors)
    n_classes = tradeoff.eigenvectors[stds[0]].images.shape[0]
    fig = _figure(1.25 * n_classes + 0.6, 1.45 * len(stds) + 0.4)
    axes = fig.subplots(len(stds), n_classes, squeeze=False)
    for r, (std, row) in enumerate(zip(stds, tradeoff.rows)):
        ce = tradeoff.eigenvectors[std]
        for c in range(n_classes):
            show_image(axes[r, c], ce.images[c, 0], f"{c}: {float(ce.share[c, 0]):.0%}")
        axes[r, 0].set_ylabel(f"noise {std:g}\n{row['accuracy']:.1%}", fontsize=8)
    sign_colorbar(fig, axes)
    fig.suptitle((title + "\n" if title else "") + "top eigenvector per class and its share of "
                 "the class's energy; row label: training noise std, test accuracy", fontsize=8)
    return fig


def plot_noise_tradeoff(tradeoff: NoiseTradeoff, title: str = ""):
    """Against the training noise std: test accuracy; the top eigenvector's share (min and
    mean over classes); the accuracy lost by a class when its top-k eigenvectors go."""
    rows = tradeoff.rows
    std = [r["std"] for r in rows]
    fig = _figure(9.5, 2.9)
    a1, a2, a3 = fig.subplots(1, 3)
    a1.plot(std, [100 * r["accuracy"] for r in rows], "o-")
    a1.set_ylabel("test accuracy (%)")
    a2.plot(std, [100 * r["top_share_mean"] for r in rows], "o-", label="mean over classes")
    a2.plot(std, [100 * r["top_share_min"] for r in rows], "s--", label="lowest class")
    a2.set_ylabel("top eigenvector's share (%)")
    a2.legend(fontsize=7, frameon=False)
    a3.plot(std, [100 * r["ablation_diagonal"] for r in rows], "o-", label="ablated class")
    a3.plot(std, [100 * r["ablation_off_diagonal"] for r in rows], "s--", label="other classes")
    a3.set_ylabel(f"accuracy lost, top-{tradeoff.k} removed (pts)")
    a3.legend(fontsize=7, frameon=False)
    for ax in (a1, a2, a3):
        ax.set_xlabel("training input-noise std")
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
