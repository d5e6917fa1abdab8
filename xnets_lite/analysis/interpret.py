"""Reading a decomposed χ-net from its weights: class-Gram eigenvectors, the compositional
tree, and what truncation keeps; the course's one sign rule for eigenvectors; wire names.

Everything here starts from a ``Decomposition`` (``odt.py``), whose network is orthonormal
(every upstream Gram of its symmetrised tree is the identity). Then the downstream Gram of one
copy of a wire, propagated from a form ``u uᵀ`` at the head, is exactly the Gram of the
network unfolded at that copy (the **class Gram** when ``u`` is a class's head row: PSD,
eigenvalues squared singular values), and no data is needed. It is not the class's signed
quadratic form ``Q_c`` (``interactions.py``), and for a residual χ-net its top eigenvector is
the linear template ``∇logit_c(0)`` (``template_cosines``; notebook 03 measures it).

Sign rule (``orient``): an eigenvector's sign is arbitrary; every one the course shows is
signed so that moving the test images along ``+v`` raises the class's logit on average.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from xnets_lite.analysis.degrees import linear_and_quadratic
from xnets_lite.core import evaluation
from xnets_lite.core.network import Network
from xnets_lite.core.odt import (
    Decomposition,
    Ranks,
    as_int,
    check_ranks,
    effective_dimension,
    layer_gram,
    propagate_down,
    sandwich,
)


def image_shape_of(d_input: int, image_shape=None) -> tuple[int, int]:
    """``(H, W)`` of ``d_input`` pixels: ``image_shape`` when given (checked), else a square
    (an error names the fix when ``d_input`` is not a square number)."""
    if image_shape is not None:
        h, w = image_shape
        if h * w != d_input:
            raise ValueError(
                f"image_shape {tuple(image_shape)} has {h * w} pixels, but the "
                f"network has {d_input} inputs"
            )
        return int(h), int(w)
    side = math.isqrt(d_input)
    if side * side != d_input:
        raise ValueError(f"cannot guess the image shape of {d_input} inputs; pass image_shape")
    return side, side


def input_shape_of(d_input: int, image_shape=None) -> tuple[int, ...]:
    """The shape to lay one input out in: ``image_shape`` when given (an int, ``(d,)``,
    ``(H, W)`` or ``(C, H, W)``; checked against ``d_input``), else a square ``(s, s)`` when
    ``d_input`` is a square number, else the flat ``(d_input,)``: inputs that are not images
    stay vectors."""
    if image_shape is None:
        side = math.isqrt(d_input)
        return (side, side) if side * side == d_input and d_input > 1 else (d_input,)
    shape = (image_shape,) if isinstance(image_shape, int) else tuple(image_shape)
    if not shape or not all(isinstance(n, int) and n > 0 for n in shape):
        raise ValueError(
            f"image_shape must be an int or a tuple of positive ints (e.g. (28, 28) or "
            f"({d_input},) for vectors), got {image_shape!r}"
        )
    if math.prod(shape) != d_input:
        raise ValueError(
            f"image_shape {shape} has {math.prod(shape)} entries, but the network has "
            f"{d_input} inputs; pass a shape with {d_input} entries, or None"
        )
    return shape


def check_decomposition(dec, what: str) -> Decomposition:
    if isinstance(dec, Decomposition):
        return dec
    hint = (
        f"call {what}(odt(net)): the reading needs the decomposed (orthonormal) network"
        if isinstance(dec, Network)
        else "call odt(model) first (from_module(model) for your own bilinear model)"
    )
    raise TypeError(f"{what} expects a Decomposition, got {type(dec).__name__}; {hint}")


def direction_name(wire: int, k: int) -> str:
    """``"const"`` for index 0, else ``"w{wire}.d{k}"``: direction k of wire ``wire``.

    Names, the same in every notebook and figure: wire ``w0`` is the embedding's output,
    layer ``l`` (1-based) reads wire ``w(l-1)`` and writes ``wl``."""
    return "const" if k == 0 else f"w{wire}.d{k}"


# ---------------------------------------------------------------------------------------
# The course's sign rule
# ---------------------------------------------------------------------------------------
def mean_gradient(model, x: Tensor, batch_size: int = 2000) -> Tensor:
    """(C, d) float64: ``mean_n ∇ₓ logit_c(x_n)`` over the inputs ``x`` (N, d), by autograd on
    ``model`` (an ``nn.Module`` in eval mode for the call, or a ``Network``)."""
    if isinstance(model, Network):
        device, dtype = model.device, model.dtype
    else:
        p = next(model.parameters())
        device, dtype = p.device, p.dtype
    total = None
    with evaluation.eval_mode(model), torch.enable_grad():
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(device=device, dtype=dtype).requires_grad_(True)
            logits = model(xb)
            grads = torch.stack(
                [
                    torch.autograd.grad(logits[:, c].sum(), xb, retain_graph=True)[0].sum(0)
                    for c in range(logits.shape[1])
                ]
            )
            grads = grads.reshape(grads.shape[0], -1).double().cpu()
            total = grads if total is None else total + grads
    if total is None:
        raise ValueError("mean_gradient got no inputs (x is empty)")
    return total / len(x)


def orient(vectors: Tensor, gradient: Tensor) -> Tensor:
    """The course's one sign rule for an eigenvector (its sign is otherwise arbitrary): +v is
    the sign for which moving the inputs along +v raises the class's logit on average,
    ``⟨v_c, g_c⟩ ≥ 0`` with ``g_c`` = ``mean_gradient(model, x_test)[c]``.

    ``vectors``: (C, k, d) or (C, d), class c's vectors in row c; ``gradient``: (C, d).
    This is the h → 0 limit of notebook 05's ``steering_sign`` (a central difference with a
    small step), exactly and for every vector at once. Ties (⟨v, g⟩ = 0) keep +v."""
    single = vectors.dim() == 2
    v = vectors[:, None] if single else vectors
    g = gradient.to(device=v.device, dtype=v.dtype)
    if g.shape != (v.shape[0], v.shape[-1]):
        raise ValueError(
            f"gradient must be (classes, d) = {(v.shape[0], v.shape[-1])}, got {tuple(g.shape)}"
        )
    sign = torch.where(torch.einsum("ckd,cd->ck", v, g) >= 0, 1.0, -1.0).to(v.dtype)
    out = v * sign[..., None]
    return out[:, 0] if single else out


def input_grams(net: Network, head_gram: Tensor) -> Tensor:
    """Propagate quadratic forms on the head's wire down to the input.

    ``head_gram``: (…, n_L, n_L) → (…, d_input + 1, d_input + 1), the downstream Gram of one
    input copy in homogeneous input coordinates ``[1, pixels]``. ``net`` must be
    orthonormal (a ``Decomposition.network``).
    """
    m = head_gram
    for layer in reversed(net.layers):
        m = propagate_down(layer, m)
    return net.embed.T @ m @ net.embed


# ---------------------------------------------------------------------------------------
# Top eigenvectors per class
# ---------------------------------------------------------------------------------------
@dataclass
class ClassEigenvectors:
    """Per class c, the top eigenvectors of the pixel block of logit c's input Gram.

    Attributes:
        values: (C, k) eigenvalues, largest first.
        share: (C, k) each eigenvalue's share of the pixel block's trace (the class's
            spectral energy in pixel directions).
        images: (C, k, H, W) the eigenvectors as images, signed by the course's rule
            (``orient``: +v raises the class's logit on average; see ``sign``).
        vectors: (C, k, d_input) the same, flat.
        pixel_share: (C,) share of the class's whole energy that lies in pixel directions
            (the rest is along the constant input coordinate: the logit's offset and the
            parts of it that do not depend on this copy of the input).
    """

    values: Tensor
    share: Tensor
    images: Tensor
    vectors: Tensor
    pixel_share: Tensor
    sign: str = ""

    def __repr__(self) -> str:
        c, k = self.values.shape
        return (
            f"ClassEigenvectors(classes={c}, k={k}, input_shape={tuple(self.images.shape[2:])}, "
            f"dtype={str(self.values.dtype)[6:]}, sign={self.sign!r})"
        )


@torch.no_grad()
def class_eigenvectors(
    dec: Decomposition,
    k: int = 3,
    image_shape: int | Sequence[int] | None = None,
    sign_data: Tensor | None = None,
    sign_gradient: Tensor | None = None,
) -> ClassEigenvectors:
    """Top-``k`` eigenvectors of every **class Gram**, from the weights alone.

    The class Gram of logit c is the Gram of the network unfolded at one input copy
    (``T_c`` reshaped to (d+1) × rest, times its transpose): PSD, its eigenvalues are squared
    singular values. It is not the class's (signed) quadratic form ``Q_c`` (½ Hessian,
    ``interactions.py``): for a one-layer model without linear terms it is ``Q_c²``, which
    merges excitation and inhibition, and for a residual χ-net its top eigenvector is, in
    practice, the linear template ``∇logit_c(0)`` (notebook 03 measures it).

    Sign: ``orient``'s rule (the sign that raises the logit), with ``sign_data`` (N, d), the
    inputs the mean gradient is taken over (the course passes the test images), or without
    data the gradient at x = 0 (the linear template: weights only). ``sign_gradient`` (C, d):
    that mean gradient already computed (``mean_gradient(model, x)``), to share it between
    calls. ``ClassEigenvectors.sign`` says which was used.

    For class c, start from the head row ``u_c`` as the quadratic form ``u_c u_cᵀ`` on the
    last wire, propagate it down every layer (``M ← Lᵀ[(DᵀMD) ⊙ (LLᵀ)]L``), map it through
    the embedding (``Eᵀ M E``, homogeneous input ``[1, pixels]``) and eigendecompose its
    pixel block ``M[1:, 1:]``: the pixel directions that logit c depends on most, through any
    one copy of the input. For a one-layer model without linear terms these are the
    eigenvectors of the class's symmetrised interaction matrix ``Σ_h (Dᵀu_c)_h l_h r_hᵀ``
    (eigenvalues squared).

    Args:
        dec: ``odt(model)`` (a ``Network`` is refused: decompose it first).
        k: eigenvectors per class (an int, 1 ≤ k ≤ d_input).
        image_shape: how to lay an input out (``input_shape_of``): None = a square image when
            d_input is a square number, else vectors; or an int / tuple.
        sign_data, sign_gradient: see "Sign" above.

    Returns:
        A ``ClassEigenvectors``.

    Shapes:
        ``values``, ``share`` (C, k); ``vectors`` (C, k, d_input); ``images`` (C, k,
        *input_shape); ``pixel_share`` (C,).

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> dec = xl.odt(xl.XNet(d_input=20, d_model=6, n_classes=3, n_layers=2))
        >>> ce = xl.class_eigenvectors(dec, k=2)          # 20 inputs: vectors
        >>> tuple(ce.images.shape), tuple(ce.values.shape)
        ((3, 2, 20), (3, 2))
    """
    net = check_decomposition(dec, "class_eigenvectors").network
    k = as_int(k) if as_int(k) is not None else k
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= net.d_input:
        raise ValueError(
            f"k must be an int between 1 and {net.d_input} (the input size), got {k!r}"
        )
    u = net.head[1:]
    m = input_grams(net, u[:, :, None] * u[:, None, :])
    block = m[:, 1:, 1:]
    evals, evecs = torch.linalg.eigh((block + block.mT) / 2)
    evals, evecs = evals.flip(-1).clamp_min(0), evecs.flip(-1).mT  # (C, n), (C, n, n) rows
    tiny = torch.finfo(evals.dtype).tiny
    shape = input_shape_of(net.d_input, image_shape)
    grad, rule = sign_gradient, "raises the logit on average over the inputs given"
    if grad is None and sign_data is None:
        grad, rule = gradient_at_zero(net), "raises the logit at x = 0 (weights only)"
    elif grad is None:
        grad = data_gradient(net, sign_data)
        rule = f"raises the logit on average over {len(sign_data):,} inputs"
    vectors = orient(evecs[:, :k].contiguous(), grad)
    return ClassEigenvectors(
        values=evals[:, :k],
        share=evals[:, :k] / evals.sum(-1, keepdim=True).clamp_min(tiny),
        images=vectors.reshape(*vectors.shape[:2], *shape),
        vectors=vectors,
        pixel_share=evals.sum(-1) / m.diagonal(dim1=-2, dim2=-1).sum(-1).clamp_min(tiny),
        sign=rule,
    )


def data_gradient(net: Network, x: Tensor) -> Tensor:
    """``mean_gradient`` of a network over inputs ``x``, evaluated in float32: it only decides
    a sign, for which float32 is ample, and costs a quarter of the float64 pass."""
    return mean_gradient(net.to(dtype=torch.float32), x)


def template_cosines(ce: ClassEigenvectors, gradient: Tensor) -> Tensor:
    """(C, k): |cos| between class c's eigenvectors and ``gradient[c]`` (C, d), e.g. the linear
    template ``gradient_at_zero(net)``: 1 = the eigenvector *is* the template."""
    g = gradient.to(ce.vectors.dtype)
    g = g / g.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(g.dtype).tiny)
    v = ce.vectors / ce.vectors.norm(dim=-1, keepdim=True)
    return torch.einsum("ckd,cd->ck", v, g).abs()


def row_cosines(a: Tensor, b: Tensor) -> Tensor:
    """(C,) float64: |cos| between row c of ``a`` and row c of ``b`` (both (C, d)); 0 where
    either row is zero."""
    a, b = a.double().cpu(), b.double().cpu()
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"expected two (C, d) tensors of one shape, got {a.shape} and {b.shape}")
    tiny = torch.finfo(torch.float64).tiny
    return (a * b).sum(-1).abs() / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(tiny)


def centred_class_means(x: Tensor, y: Tensor, n_classes: int | None = None) -> Tensor:
    """(C, d) float64: each class's mean input minus the mean of all inputs, ``mean_c − mean``
    (``x`` (N, d) or images (N, H, W), ``y`` (N,) labels): the "average digit" baseline a
    class eigenvector or template must beat to say more than the class mean. A class with
    no input gets a zero row."""
    x = x.reshape(len(x), -1).double()
    y = y.long()
    n = int(y.max()) + 1 if n_classes is None else int(n_classes)
    counts = torch.bincount(y, minlength=n).double()
    sums = torch.zeros(n, x.shape[1], dtype=torch.float64).index_add_(0, y, x)
    means = sums / counts.clamp_min(1)[:, None]
    return torch.where(counts[:, None] > 0, means - x.mean(0), torch.zeros_like(means))


def random_cosines(d: int, n: int = 100_000, seed: int = 0, chunk: int = 10_000) -> Tensor:
    """(n,) float64: |cos| between ``n`` random directions (isotropic Gaussian, ``seed``) and
    one fixed direction in ``d`` dimensions, the chance level of a |cos| (its distribution
    does not depend on which fixed direction: by symmetry, take the first axis). Its mean is
    about ``sqrt(2 / (π d))``."""
    if d < 1 or n < 1:
        raise ValueError(f"need d >= 1 and n >= 1, got d={d}, n={n}")
    gen = torch.Generator().manual_seed(int(seed))
    out = []
    for start in range(0, n, chunk):
        r = torch.randn(min(chunk, n - start), d, generator=gen, dtype=torch.float64)
        out.append(r[:, 0].abs() / r.norm(dim=1))
    return torch.cat(out)


@torch.no_grad()
def scale_gram_eigenvector(dec: Decomposition) -> Tensor:
    """(d,): the top eigenvector of the pixel block of the **scale row's** Gram (head row 0,
    the homogeneous scale ``s``), the same recipe as ``class_eigenvectors``. For the
    per-sample RMS χ-net every logit is ``s · logit_c`` before dividing, so a class Gram
    whose top eigenvector is this one is dominated by the shared factor ``s``."""
    net = dec.network
    u = net.head[:1]
    block = input_grams(net, u[:, :, None] * u[:, None, :])[0, 1:, 1:]
    return torch.linalg.eigh((block + block.T) / 2).eigenvectors[:, -1]


def gradient_at_zero(net: Network) -> Tensor:
    """(C, d): ``∇ₓ logit_c(0)``, the linear template, exactly from the weights (the degree-1
    Taylor term, ``degrees.linear_and_quadratic``), in the network's dtype. The per-sample RMS
    χ-net's logits are a ratio of polynomials, with no Taylor terms from the weights alone:
    its gradient at 0 is taken by autograd (``mean_gradient`` at x = 0)."""
    if net.meta.get("norm") == "rms":
        x = torch.zeros(1, net.d_input, dtype=net.dtype, device=net.device)
        return mean_gradient(net, x).to(net.dtype)
    return linear_and_quadratic(net, quadratic=False)[1].to(net.dtype)


# ---------------------------------------------------------------------------------------
# The compositional tree
# ---------------------------------------------------------------------------------------
@dataclass
class Tree:
    """The truncated network laid out for reading, bottom-up.

    Attributes:
        features: (k₀+1, H, W) input-space image of every direction of wire 0 (row 0 is the
            constant direction: its pixel part is zero).
        interactions: per bilinear layer, (n_out, n_in, n_in) symmetric matrices: how the
            directions of the wire below combine into each direction of the wire above.
        class_matrices: (C, n, n) the last layer contracted with the head: how the top
            wire's inputs combine into each logit (None for a network without layers).
        importance: per wire, the energy of each kept direction.
        ranks: directions kept per wire (besides the constant).
    """

    features: Tensor
    interactions: list[Tensor]
    class_matrices: Tensor | None
    importance: list[Tensor]
    ranks: list[int]

    def __repr__(self) -> str:
        classes = None if self.class_matrices is None else self.class_matrices.shape[0]
        return (
            f"Tree(ranks={self.ranks}, classes={classes}, input_shape="
            f"{tuple(self.features.shape[1:])}, dtype={str(self.features.dtype)[6:]})"
        )


@torch.no_grad()
def compositional_tree(
    dec: Decomposition, rank: Ranks = 15, image_shape: int | Sequence[int] | None = None
) -> Tree:
    """Truncate every wire to its top ``rank`` directions and read off the tree.

    Args:
        dec: ``odt(model)``.
        rank: directions kept per wire besides the constant: an int (clipped to each wire's
            width, so the default 15 fits narrow wires) or one int per wire (checked).
        image_shape: how to lay out an input for ``features`` (see ``input_shape_of``;
            default: square images where ``d_input`` is a square, else vectors).

    Returns:
        A ``Tree`` (features, interactions, class_matrices, importance, ranks).

    Shapes:
        ``features`` (k₀+1, *input_shape); ``interactions[l]`` (k_{l+1}+1, k_l+1, k_l+1);
        ``class_matrices`` (C, k_L'+1, k_L'+1) over the wire the last layer reads.

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> dec = xl.odt(xl.XNet(d_input=20, d_model=6, n_classes=3, n_layers=2))
        >>> tree = xl.compositional_tree(dec)            # rank 15 clipped to the widths
        >>> tree.ranks, tuple(tree.features.shape)
        ([6, 6, 6], (7, 20))
        >>> xl.trace_class(tree, 0, top=1)[0].layer      # the course's layer 2 (reads w1)
        2
    """
    dec = check_decomposition(dec, "compositional_tree")
    if as_int(rank) is not None:
        rank = [min(as_int(rank), n - 1) for n in dec.widths]
    ranks = check_ranks(dec.widths, rank)
    net = dec.truncate(ranks)
    shape = input_shape_of(net.d_input, image_shape)
    interactions = [layer.dense(symmetric=True) for layer in net.layers]
    class_matrices = None
    if interactions:
        class_matrices = torch.einsum("co,oij->cij", net.head[1:], interactions.pop())
    return Tree(
        features=net.embed[:, 1:].reshape(-1, *shape),
        interactions=interactions,
        class_matrices=class_matrices,
        importance=[imp[: k + 1] for imp, k in zip(dec.importance, ranks)],
        ranks=ranks,
    )


def top_pairs(matrix: Tensor, top: int) -> list[tuple[int, int, float]]:
    """The ``top`` largest |entries| of a symmetric matrix as (i, j, weight), i ≤ j, where
    an off-diagonal weight counts both (i, j) and (j, i)."""
    sym = torch.triu(matrix + matrix.T - torch.diag(matrix.diagonal()))
    flat = sym.abs().flatten()
    idx = flat.argsort(descending=True)[:top]
    n = matrix.shape[1]
    return [(int(i // n), int(i % n), float(sym.flatten()[i])) for i in idx if flat[i] > 0]


@dataclass(frozen=True)
class TraceStep:
    """One step of ``trace_class``, in the course's names.

    Attributes:
        layer: the course's layer number l (1-based): layer l reads wire ``w(l-1)`` and
            writes ``wl``; the top step is the last layer, contracted with the head.
        output: what the step explains: ``"class c"`` at the top, else a direction
            ``"wl.dk"`` of the wire the layer writes.
        pairs: the strongest terms, ``(a, b, weight)`` with ``a``, ``b`` directions of wire
            ``w(l-1)`` (``"const"`` or ``"w(l-1).dk"``), ``weight`` their coefficient (an
            off-diagonal one counts both orders).
        indices: the same pairs as ``(i, j, weight)`` coordinate indices (0 = constant).

    ``step["layer"]``, ``step["output"]``, ``step["pairs"]`` still give the former dict's
    values (0-based layer, ``"class c"`` or the output's index, ``indices``).
    """

    layer: int
    output: str
    pairs: list[tuple[str, str, float]]
    indices: list[tuple[int, int, float]]
    output_index: int | None = None

    def __getitem__(self, key: str):
        legacy = {
            "layer": self.layer - 1,
            "output": self.output if self.output_index is None else self.output_index,
            "pairs": self.indices,
        }
        if key not in legacy:
            raise KeyError(f"{key!r}; a TraceStep has .layer, .output, .pairs, .indices")
        return legacy[key]

    def __str__(self) -> str:
        terms = ", ".join(f"{a}·{b} ({w:+.3g})" for a, b, w in self.pairs)
        return f"layer {self.layer}: {self.output} ← {terms}"


def _step(layer: int, output: str, indices: list, output_index: int | None = None) -> TraceStep:
    """A ``TraceStep`` of 0-based ``layer`` (reads wire ``layer``), named as the course does."""
    names = [(direction_name(layer, i), direction_name(layer, j), w) for i, j, w in indices]
    return TraceStep(layer + 1, output, names, indices, output_index)


def trace_class(tree: Tree, c: int, top: int = 3) -> list[TraceStep]:
    """Follow class ``c`` down the tree: its strongest interactions at the last layer, then,
    for every direction they use, that direction's strongest interactions one layer below,
    down to the features.

    Args:
        tree: ``compositional_tree(dec)``.
        c: the class (0 ≤ c < n_classes).
        top: terms kept per step.

    Returns:
        One ``TraceStep`` per step, top first, named as the course names wires
        (``layer`` 1-based, directions ``"wl.dk"``, ``"const"``).

    Example::

        >>> import torch
        >>> import xnets_lite as xl
        >>> _ = torch.manual_seed(0)
        >>> tree = xl.compositional_tree(xl.odt(xl.XNet(d_input=9, d_model=6, n_classes=3)))
        >>> step = xl.trace_class(tree, 1, top=2)[0]
        >>> step.output, step.layer, len(step.pairs)
        ('class 1', 3, 2)
    """
    if not isinstance(tree, Tree):
        raise TypeError(
            f"trace_class expects a Tree (compositional_tree(odt(model))), got "
            f"{type(tree).__name__}"
        )
    if tree.class_matrices is None:
        raise ValueError("this network has no bilinear layer: there is no tree to trace")
    n_classes = tree.class_matrices.shape[0]
    c = as_int(c) if as_int(c) is not None else c
    if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n_classes:
        raise ValueError(f"class must be an int in [0, {n_classes}), got {c!r}")
    n_layers = len(tree.interactions) + 1
    steps = [_step(n_layers - 1, f"class {c}", top_pairs(tree.class_matrices[c], top))]
    frontier = {i for i, j, _ in steps[0].indices for i in (i, j)} - {0}
    for layer in reversed(range(n_layers - 1)):
        below = set()
        for o in sorted(frontier):
            pairs = top_pairs(tree.interactions[layer][o], top)
            steps.append(_step(layer, direction_name(layer + 1, o), pairs, o))
            below |= {i for i, j, _ in pairs for i in (i, j)}
        frontier = below - {0}
    return steps


# ---------------------------------------------------------------------------------------
# What truncation keeps
# ---------------------------------------------------------------------------------------
def trace_term_counts(tree: Tree, top: int = 3, classes=None) -> dict:
    """What kind of term the traces name: over ``classes`` (default: all), every pair of
    ``trace_class(tree, c, top)`` counted once per step it appears in.

    Returns ``terms`` (all named pairs), ``with_constant`` (one or both factors the
    constant: a linear term or the residual carry, ``const·wl.dk``, or ``const·const``),
    ``constant`` (``const·const``: an offset, the same on every input), ``products`` (two
    directions, ``wl.di·wl.dj``), and the first three for the top layer alone
    (``top_terms``, ``top_with_constant``, ``top_constant``).
    """
    classes = range(tree.class_matrices.shape[0]) if classes is None else classes
    keys = ("terms", "with_constant", "constant")
    out = dict.fromkeys(keys + tuple("top_" + k for k in keys), 0)
    for c in classes:
        for n, step in enumerate(trace_class(tree, c, top=top)):
            for prefix in ("", "top_") if n == 0 else ("",):
                for i, j, _ in step.indices:
                    out[prefix + "terms"] += 1
                    out[prefix + "with_constant"] += int(i == 0 or j == 0)
                    out[prefix + "constant"] += int(i == j == 0)
    out["products"] = out["terms"] - out["with_constant"]
    return out


@torch.no_grad()
def class_energy_share(dec: Decomposition, ranks) -> Tensor:
    """(C, n_wires): the share of each class's spectral energy, at each wire, held by the
    directions a truncation to ``ranks`` keeps (the constant plus the top ``ranks[l]``).

    The energy of logit c at a wire is the trace of its downstream Gram there (the squared
    norm of the logit's polynomial, the same at every wire); the kept share is the trace
    over the kept coordinates.
    """
    net = dec.network
    ranks = check_ranks(net.widths, ranks)
    u = net.head[1:]
    m = u[:, :, None] * u[:, None, :]
    shares = []
    for wire in reversed(range(len(net.layers) + 1)):
        diag = m.diagonal(dim1=-2, dim2=-1)
        shares.append(diag[:, : ranks[wire] + 1].sum(-1) / diag.sum(-1))
        if wire > 0:
            m = propagate_down(net.layers[wire - 1], m)
    return torch.stack(shares[::-1], dim=1)


@torch.no_grad()
def measure_truncation(dec: Decomposition, data, ranks, full_predictions=None) -> dict:
    """Truncate to ``ranks`` (an int = the same rank on every wire, or a list per wire) and
    measure it on ``data``: ``rank``, test ``accuracy``, ``agreement`` with the full
    network's predictions (``full_predictions``, computed when not given) and the
    ``parameters`` of the compressed module (``compress.to_module``)."""
    from xnets_lite.core.compress import to_module

    if full_predictions is None:
        full_predictions = evaluation.predict(dec.network, data)
    net = dec.truncate(ranks)
    pred = evaluation.predict(net, data)
    return {
        "rank": ranks,
        "accuracy": float((pred == data.labels).double().mean()),
        "agreement": float((pred == full_predictions).double().mean()),
        "parameters": to_module(net).num_parameters(),
    }


def accuracy_vs_rank(dec: Decomposition, data, ranks) -> list[dict]:
    """``measure_truncation`` for each rank in ``ranks``, sharing the full predictions."""
    full = evaluation.predict(dec.network, data)
    return [measure_truncation(dec, data, r, full) for r in ranks]


def dimension_table(dec: Decomposition, energy: float = 0.99) -> dict[str, list]:
    """Per wire, the effective dimension (directions for ``energy`` of the energy) by ODT and
    by a local SVD, with the constant coordinate and without it, and the constant's share.

    Keys, each a list with one entry per wire:

    * ``odt``: the global spectrum of ``M`` (constant included);
    * ``writer``, ``reader``: the local-SVD spectra of the map that writes / reads the wire
      (``Decomposition.local_effective_dimensions``, constant included);
    * ``odt_nc``: the kept basis without the constant, ``importance[1:]`` (the ``wl.dk``,
      k ≥ 1: what truncation counts);
    * ``writer_nc``: the writer's Gram (raw coordinates, ``E Eᵀ`` for ``w0``, the layer's
      output Gram ``odt.layer_gram`` above) with the constant's row and column removed;
    * ``const``, ``const_writer``: the constant's share of the wire's energy, globally
      (``importance[0] / Σ importance``) and in the writer's Gram (``G[0, 0] / trace G``).
    """
    if not isinstance(dec, Decomposition):
        raise TypeError(f"expected a Decomposition (odt(model)), got {type(dec).__name__}")
    if dec.source is None:
        raise ValueError("this decomposition keeps no source network for the local baseline")
    grams = [sandwich(dec.source.embed)] + [layer_gram(layer) for layer in dec.source.layers]
    return {
        "odt": dec.effective_dimensions(energy),
        "writer": dec.local_effective_dimensions(energy, view="writer"),
        "reader": dec.local_effective_dimensions(energy, view="reader"),
        "odt_nc": dec.ranks_for(energy),
        "writer_nc": [
            effective_dimension(torch.linalg.eigvalsh(g[1:, 1:]).clamp_min(0), energy)
            for g in grams
        ],
        "const": [float(imp[0] / imp.sum()) for imp in dec.importance],
        "const_writer": [float(g[0, 0] / g.trace()) for g in grams],
    }


def traced_directions(tree, c: int, top: int = 3) -> dict[int, set[int]]:
    """``{wire: directions}`` that ``trace_lines(tree, c, top)`` names (constant left out):
    the figure of the tree must draw all of them."""
    named: dict[int, set[int]] = {}
    for step in trace_class(tree, c, top=top):
        wire = step["layer"]
        if not isinstance(step["output"], str):
            named.setdefault(wire + 1, set()).add(step["output"])
        named.setdefault(wire, set()).update(k for i, j, _ in step["pairs"] for k in (i, j) if k)
    return named
