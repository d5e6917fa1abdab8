"""The exercise cells of every notebook: a statement (markdown), a stub the student edits and a
check cell, per exercise; ``notebook_cells(notebook)`` turns them into nbformat v4 cells with
ids ``exNN-00`` (the section's heading), ``exNN-ii{a,b,c}`` (statement, stub, check)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cells:
    name: str  # the checker's name, e.g. "02.effective_dimension_without_constant"
    level: str  # easy / medium / hard
    title: str
    statement: str
    stub: str
    check: str


E, M, H = "easy", "medium", "hard"

SECTIONS = {
    "00_tensor_networks": [
        Cells(
            "00.symmetric_form",
            E,
            "one product as two squares",
            "A bilinear layer `D(Lx ⊙ Rx)` needs only one input matrix: find `S` and `D′` "
            "with `D′(Sx)² = D(Lx ⊙ Rx)` for every `x` (square taken elementwise). This is "
            "what `symmetrise` does; do it by hand.",
            "def symmetric_form(L, R, D):\n"
            '    """(S, D′) with D′ (S x)² = D (Lx ⊙ Rx); L, R: (k, d), D: (o, k)."""\n'
            "    return None  # your code: return S, D_prime",
            'check("00.symmetric_form", symmetric_form, net=net)',
        ),
        Cells(
            "00.antisymmetric_part",
            E,
            "the antisymmetric part does nothing",
            "Build the layer tensor `B[o,i,j] = Σ_h D[o,h] L[h,i] R[h,j]` and return its "
            "antisymmetric part `A = ½(B − Bᵀ)` over `i, j`. The check also evaluates "
            "`xᵀA_o x` on random inputs: why does it come out zero, whatever the weights?",
            "def antisymmetric_part(L, R, D):\n"
            '    """A (o, d, d) = ½ (B − Bᵀ) of the layer tensor B[o, i, j]."""\n'
            "    return None  # your code",
            'check("00.antisymmetric_part", antisymmetric_part, net=net)',
        ),
        Cells(
            "00.residual_block",
            M,
            "a residual block on x̃ = [1, x]",
            "`tiny.blocks[0]` computes `block(x) = D((Lx + b_L) ⊙ (Rx + b_R)) + b_D` "
            "(`block.left`, `block.right`, `block.down` are `nn.Linear`s); the model adds "
            "`x` itself (the residual). Write `[1, x] ↦ [1, x + block(x)]` as one "
            "`BilinearLayer(L′, R′, D′)`, without `to_network`; the check compares it with "
            "`to_network`'s first layer.",
            "from xnets_lite.core.network import BilinearLayer\n\n"
            "def residual_layer(block):\n"
            '    """BilinearLayer on [1, x] (d+1) → [1, x + block(x)] (d+1)."""\n'
            "    return None  # your code",
            'check("00.residual_block", residual_layer, tiny=tiny)',
        ),
        Cells(
            "00.spectra_before_after",
            H,
            "singular values only after orthogonalising",
            "For the tiny network `net`, return the eigenvalues (largest first) of wire "
            "`w0`'s downstream Gram before and after `orthogonalise`. The check compares "
            "both with the squared singular values of the unfolded tree (as in the cell "
            "that unfolds `S` above): which one matches them, and why only that one?",
            "from xnets_lite.core.odt import downstream_grams, orthogonalise\n\n"
            "def spectra_before_after(net):\n"
            '    """(before, after): eigenvalues of w0\'s downstream Gram, largest first."""\n'
            "    return None  # your code",
            'check("00.spectra_before_after", spectra_before_after, net=net)',
        ),
    ],
    "01_training": [
        Cells(
            "01.parameter_counts",
            E,
            "parameter counts by formula",
            "Write the number of parameters of each of the four models as a formula in "
            "`d_input`, `width`, `n_classes` and `n_layers` (every hidden size is `width`, "
            "as `run.make` builds them), without building a model. The check compares it "
            "with the models above and with random sizes.",
            "def parameter_count(kind, d_input, width, n_classes, n_layers):\n"
            '    """Parameters of run.make(kind): xnet, xnet-direct, xnet-rms or mlp."""\n'
            "    return None  # your code",
            'check("01.parameter_counts", parameter_count, models=models)',
        ),
        Cells(
            "01.affine_baseline",
            M,
            "the affine baseline",
            "Train (or load) the χ-net with no bilinear block, `n_layers=0` (embedding "
            "then head: an affine map of the pixels), with the same recipe. How much of "
            "the χ-nets' accuracy does an affine map already reach?",
            "affine = None  # your code: a trained XNet with n_layers=0",
            'check("01.affine_baseline", affine, test_data=test_data, models=models)',
        ),
    ],
    "02_decomposition": [
        Cells(
            "02.effective_dimension_without_constant",
            E,
            "effective dimensions without the constant",
            "Reproduce the table's ODT column *without the constant* yourself: each "
            "wire's effective dimension (99% of the energy) from its non-constant "
            "directions only. `dec.importance[w]` holds the energy of every coordinate of "
            "wire `w` in the ODT basis, the constant first.",
            "from xnets_lite.core.odt import effective_dimension\n\n"
            "def dims_without_constant(dec):\n"
            '    """One int per wire: directions holding 99% of the non-constant energy."""\n'
            "    return None  # your code",
            'check("02.effective_dimension_without_constant", dims_without_constant, dec=dec)',
        ),
        Cells(
            "02.global_spectrum_brute_force",
            M,
            "the global spectrum of w1 by brute force",
            "On notebook 00's tiny network (the check builds it, and random two-layer "
            "networks), unfold the symmetrised tree `symmetrise(net).dense()` at the "
            "first copy of wire `w1` and return its squared singular values, largest "
            "first. The check compares them with ODT's `odt(net).spectra[1]`.",
            "from xnets_lite.core.network import symmetrise\n\n"
            "def brute_force_spectrum(net):\n"
            '    """Squared singular values of the tree unfolded at the first copy of w1."""\n'
            "    return None  # your code",
            'check("02.global_spectrum_brute_force", brute_force_spectrum)',
        ),
        Cells(
            "02.fewest_parameters",
            H,
            "the fewest parameters for 97.5%",
            "Find a rank per wire (the constant not counted) whose truncation keeps at "
            "least 97.5% test accuracy (in the fast setting: half a point under the full "
            "network) with as few parameters as you can; "
            "`xnets_lite.analysis.interpret.measure_truncation(dec, test_data, ranks)` measures "
            "both. The check accepts a vector that reaches the target with no more "
            "parameters than the best rank that is the same on every wire.",
            "ranks = None  # your code: one rank per wire, e.g. [16, 16, 16, 16]",
            'check("02.fewest_parameters", ranks, dec=dec, test_data=test_data)',
        ),
    ],
    "03_eigenvectors": [
        Cells(
            "03.cosine_with_linear_template",
            E,
            "the top eigenvector against the linear template",
            "For every class, compute |cos| between its top eigenvector `v_c` "
            "(`class_eigenvectors(dec, k=1)`) and its linear template `∇ₓlogit_c(0)`, the "
            "gradient of the logit at the black image. How close are they for the "
            'course\'s χ-net? Try the direct one too (`run.model("xnet-direct")[0]`, '
            '`decs["xnet-direct"]`).',
            "from xnets_lite.analysis.interpret import class_eigenvectors\n\n"
            "def template_cosines(model, dec):\n"
            '    """(C,) |cos| between class c\'s top eigenvector and ∇ₓ logit_c at x = 0."""\n'
            "    return None  # your code",
            'check("03.cosine_with_linear_template", template_cosines,\n'
            "      model=run.model(run.main)[0], dec=decs[run.main])",
        ),
        Cells(
            "03.resign_by_logit",
            M,
            "a sign that means something",
            "`eigh` returns each eigenvector with an arbitrary sign, and a common fix, "
            "making its largest pixel positive, means nothing either. "
            "`class_eigenvectors` signs them by the logit (`interpret.orient`, with the "
            "mean gradient over the test images). Write a weights-only version of that "
            "rule: given vectors signed by their largest pixel, flip `v_c` where "
            "`v_c · ∇ₓlogit_c(0) < 0`, so that a small step from `x = 0` along it raises "
            "logit c. Which classes had the wrong sign?",
            "def resign(model, vectors):\n"
            '    """vectors (C, d), row c flipped where it lowers logit c at x = 0."""\n'
            "    return None  # your code",
            'check("03.resign_by_logit", resign, model=run.model(run.main)[0],\n'
            "      dec=decs[run.main])",
        ),
        Cells(
            "03.signed_interactions",
            H,
            "signed interactions against the Gram",
            "In a one-layer χ-net every logit is a quadratic form on `x̃ = [1, x]`: "
            "`logit_c = x̃ᵀ Q̃_c x̃`. Build the symmetric `Q̃_c` from the weights of "
            "`to_network(model)`. The check compares the squares of its eigenvalues with "
            "the eigenvalues of the class's input Gram (what `class_eigenvectors` "
            "diagonalises) and counts the negative ones: what does a sign say that the "
            "Gram cannot?",
            "from xnets_lite.core.network import to_network\n\n"
            "def interaction_matrix(model, c):\n"
            '    """Q̃_c (d+1, d+1), symmetric, logit_c = x̃ᵀ Q̃_c x̃ (a one-layer χ-net)."""\n'
            "    return None  # your code",
            'check("03.signed_interactions", interaction_matrix,\n'
            "      model=run.model(run.main, n_layers=1)[0], c=3)",
        ),
    ],
    "04_tree": [
        Cells(
            "04.carry_weight",
            E,
            "the weight of a pure carry",
            "In the trace above, a residual passing direction `i` up unchanged is the "
            "pair `const·w(l-1).di`. If a direction of the wire above is *exactly* the "
            "carry `x_i · 1` of one direction below, what |weight| does the tree give "
            "that pair after ODT? Derive it (the product as a symmetric tensor over the "
            "two copies of the wire, and the norm 1 an orthonormal wire gives it).",
            "carry = None  # your answer: a number",
            'check("04.carry_weight", carry)',
        ),
        Cells(
            "04.split_layer",
            M,
            "products against linear terms, on data",
            "The data column above rests on one exact split of a layer's output. Write the "
            "wire as `w = w₀e₀ + w_r` (`w₀ = w[:, :1]`, shape (N, 1): the constant "
            "coordinate). Then `D(Lw ⊙ Rw)` is a *constant* term (both factors from "
            "`w₀e₀`), a *linear* term (exactly one) and a *product* term (neither). "
            "Return the three, "
            "each (N, n_out). The check compares them with `usage.layer_terms` on random "
            "layers and on every layer of the truncated network above. It then prints "
            "the size ratio of your split, which should equal the one printed above.",
            "def split_layer(layer, w):\n"
            '    """(constant, linear, product), each (N, n_out), summing to layer(w)."""\n'
            "    return None  # your code: three tensors",
            'check("04.split_layer", split_layer, net=dec.truncate(rank), x=x_test)',
        ),
        Cells(
            "04.degree_one_part",
            H,
            "how far the degree-≤1 part goes",
            "A χ-net is a polynomial of its input. Its degree-≤1 part is `f(0) + J x`, "
            "with `J` the Jacobian of the logits at `x = 0`. Compute it for `dec.source`; "
            "the check prints the test accuracy of that affine map alone beside the whole "
            "network's.",
            "def degree_one_part(net):\n"
            '    """(weight (C, d), bias (C,)): the logits\' Jacobian and value at x = 0."""\n'
            "    return None  # your code",
            'check("04.degree_one_part", degree_one_part, net=dec.source, test_data=test_data)',
        ),
    ],
    "05_validation": [
        Cells(
            "05.template_and_mean_controls",
            M,
            "two trivial controls, built another way",
            "The table's controls come from the training images: the mean gradient over "
            "them, and their class means. Build two variants by hand: each class's "
            "**linear template at zero**, `∇ₓlogit_c(0)` (no data at all), and its "
            "**centred class mean of the test images** (class c's mean test image minus "
            "the mean of all test images). Return both, one row per class; the check "
            "ablates each (k = 1) and prints the accuracy lost beside the class Gram's "
            "eigenvector's. Compare with the table's k = 1 rows: does either choice "
            "change the verdict?",
            "def control_directions(model, data):\n"
            '    """{"template": (C, d) ∇ₓlogit_c(0), "class mean": (C, d) centred means}."""\n'
            "    return None  # your code",
            'check("05.template_and_mean_controls", control_directions, model=model,\n'
            "      test_data=test_data, glob=glob)",
        ),
        Cells(
            "05.steer_with_class_mean",
            M,
            "steer with the class mean",
            "Steer along your centred class means, with the settings of the steering "
            "cell above (the same `alphas`, `max_images=2000`; `steering` makes every "
            "direction unit length, so the added norm is the same). The check compares "
            "the shares with the eigenvector's at its best α.",
            "steer_mean = None  # your code: steering(...) along the centred class means",
            'check("05.steer_with_class_mean", steer_mean, model=model, test_data=test_data,\n'
            "      steer=steer)",
        ),
        Cells(
            "05.largest_rest",
            H,
            "where an explanation leaves the most unexplained",
            "`explain_image` traces the predicted class down the tree, keeping the top 3 "
            "pairs per direction; `rest` is what all the other pairs add. Among the first "
            "500 test images, find the one whose trace leaves the largest share in rest, "
            "`Σ|rest| / Σ(|rest| + Σ|pair term|)` over `expl.steps`. Then look at it "
            "(`plot_explanation`): is it a hard image?",
            "worst = None  # your code: the index of that test image",
            'check("05.largest_rest", worst, dec=dec, test_data=test_data)',
        ),
    ],
    "06_similarity": [
        Cells(
            "06.template_cosine",
            E,
            "the degree-1 weight cosine is a template cosine",
            "The degree-1 part of a symmetrised tree picks a pixel in one copy and the "
            "constant in all the others. Show that its weight cosine is the cosine of the two "
            "networks' **linear templates** at 0, `g = ∇ₓlogits(0)` (C × d), taken over all "
            "classes together. Return that cosine for two models; the check compares it with "
            "`weight_similarity(a, b).per_degree()[1]` on random χ-nets and on two of the "
            "course's seeds.",
            "def template_cosine(model_a, model_b):\n"
            '    """The cosine of the two (C, d) linear templates at x = 0, a float."""\n'
            "    return None  # your code",
            'check("06.template_cosine", template_cosine, a=models[("xnet", seeds[0])],\n'
            '      b=models[("xnet", seeds[1])])',
        ),
        Cells(
            "06.cross_gram_step",
            M,
            "one step of the cross-Gram recursion",
            "Write the step of section 1: from wire l's cross-Gram `G` (n_a × n_b) and the "
            "two layers (`BilinearLayer`s with `.left`, `.right`, `.down`; L ≠ R), return "
            "wire l+1's, for the symmetrised layers. Nothing of size k³: products of "
            "`k × n` matrices and elementwise products only.",
            "def cross_step(layer_a, layer_b, G):\n"
            '    """(n_a\', n_b\'): the cross-Gram of the wires the two layers write."""\n'
            "    return None  # your code",
            'check("06.cross_gram_step", cross_step)',
        ),
        Cells(
            "06.degrees_by_scaling",
            H,
            "the degree split by rescaling the input",
            "The notebook splits the inner product by degree with polynomial Grams. Another "
            "exact route: scale the pixel columns of both embeddings (`net.embed[:, 1:]`) by "
            "`s`, run the *ungraded* recursion (`cross_grams(a, b, graded=False)` and the "
            "head), and do it at enough scales to recover every degree. Return the "
            "per-degree inner products, summed over classes, shape (2^L + 1,).",
            "def degrees_by_scaling(net_a, net_b):\n"
            '    """(2^L + 1,) float64: ⟨T_a,d, T_b,d⟩ summed over classes, d = 0…2^L."""\n'
            "    return None  # your code",
            'check("06.degrees_by_scaling", degrees_by_scaling)',
        ),
    ],
}


def heading(notebook: str) -> str:
    levels = ", ".join(c.level for c in SECTIONS[notebook])
    return (
        "## Exercises\n\n"
        f"{len(SECTIONS[notebook])} exercises, in order of difficulty ({levels}). Edit a "
        "code cell, run it, then run the check "
        "below it: the check compares your answer with a reference implementation, in "
        "float64, on random shapes and on the course's model where they apply, and says "
        "what differs. Left unchanged, a "
        'check says "not attempted yet" and stops nothing. Stuck? The solutions are in '
        f"[`solutions/{notebook}.py`](../solutions/{notebook}.py), one `# %%` section per "
        "exercise."
    )


def _code(cell_id: str, source: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": {},
        "outputs": [],
        "source": source,
    }


def _markdown(cell_id: str, source: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source}


def prefix(notebook: str) -> str:
    """``"ex02"`` for ``"02_decomposition"``: every exercise cell id starts with it."""
    return "ex" + notebook[:2]


def notebook_cells(notebook: str) -> list[dict]:
    """The "## Exercises" section of ``notebook`` as nbformat v4 cells."""
    p = prefix(notebook)
    cells = [
        _markdown(f"{p}-00", heading(notebook)),
        _code(f"{p}-00b", "from xnets_lite.course.exercises import check"),
    ]
    for i, ex in enumerate(SECTIONS[notebook], start=1):
        cells += [
            _markdown(
                f"{p}-{i:02d}a", f"**Exercise {i} ({ex.level}): {ex.title}.** {ex.statement}"
            ),
            _code(f"{p}-{i:02d}b", ex.stub),
            _code(f"{p}-{i:02d}c", ex.check),
        ]
    return cells
