"""The exercises: every stub reports "not attempted yet", every solution (the text of
``solutions/<notebook>.py``, run as the notebook would run it) passes its checker, and every
checker rejects a plausible wrong answer with its hint; ``fill_solutions`` swaps stubs for
solutions; the cells obey the notebooks' rules.

The notebooks' variables are stood in for by small models on a balanced subset of MNIST
(a χ-net of width 16 trained for a few hundred steps), so that everything here is fast."""

# ruff: noqa: S102 - exec runs cell sources (stubs, solutions) as the notebook would
import json
import os
import re
from pathlib import Path

import pytest
import torch

from xnets_lite.analysis.interpret import class_eigenvectors
from xnets_lite.core.model import XNet
from xnets_lite.core.network import to_network
from xnets_lite.core.odt import odt
from xnets_lite.course import exercises
from xnets_lite.course.exercises import (
    EXERCISES,
    NOT_ATTEMPTED,
    SECTIONS,
    evaluate,
    fill_solutions,
)
from xnets_lite.course.exercises.cells import notebook_cells, prefix
from xnets_lite.course.exercises.core import random_xnet

NAMES = [ex.name for cells in SECTIONS.values() for ex in cells]


def _fit(model, data, steps=300, seed=0):
    """A few hundred Adam steps (independent of the package's training loop)."""
    gen = torch.Generator().manual_seed(seed)
    x, y = data[0 : len(data)]
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=gen)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


class FakeRun:
    """What the exercises use of the notebooks' ``run``: ``main``, ``seed`` and ``model``."""

    main, seed = "xnet", 0

    def __init__(self, models):
        self.models = models

    def model(self, kind, **overrides):
        return self.models[(kind, overrides.get("n_layers"))], {}


@pytest.fixture(scope="session")
def course(mnist_small):
    """The notebooks' variables, small: per chapter a namespace."""
    from xnets_lite.analysis.validation import ablation_matrix, steering

    train, test = mnist_small
    torch.manual_seed(0)
    model = _fit(XNet(784, 16, 16, 10, 2), train)
    affine = _fit(XNet(784, 16, 16, 10, 0), train, steps=200)
    one_layer = random_xnet(5, d_input=784, d_model=8, d_hidden=8, n_classes=10, n_layers=1)
    run = FakeRun({("xnet", None): model, ("xnet", 0): affine, ("xnet", 1): one_layer})
    dec = odt(model)
    torch.manual_seed(0)
    tiny = XNet(d_input=4, d_model=3, d_hidden=3, n_classes=2, n_layers=2).double()
    ce = class_eigenvectors(dec, k=1)
    alphas = torch.tensor([0.0, 4.0, 8.0])
    common = {"torch": torch, "run": run, "test_data": test, "train_data": train}
    return {
        "00_tensor_networks": dict(common, tiny=tiny, net=to_network(tiny)),
        "01_training": dict(
            common,
            models={"xnet": (model, {}), "mlp": (exercises.ch01.build("mlp", 784, 16, 10, 2), {})},
        ),
        "02_decomposition": dict(common, dec=dec, model=model),
        "03_eigenvectors": dict(common, decs={"xnet": dec}),
        "04_tree": dict(common, dec=dec, rank=8, x_test=test[0 : len(test)][0].double()),
        "05_validation": dict(
            common,
            model=model,
            dec=dec,
            alphas=alphas,
            glob=ablation_matrix(model, test, ce.vectors, ks=(1,)),
            steer=steering(model, test, ce.vectors[:, 0], alphas),
        ),
        "06_similarity": dict(
            common,
            models={("xnet", 0): model, ("xnet", 1): random_xnet(6, d_input=784, n_classes=10)},
            seeds=[0, 1],
        ),
    }


def _notebook(name):
    return next(nb for nb, cells in SECTIONS.items() if any(c.name == name for c in cells))


def _cell_of(name):
    return next(c for c in SECTIONS[_notebook(name)] if c.name == name)


def _run_check(check_source: str, ns: dict):
    """Run a check cell's source with ``check`` replaced by ``evaluate``: the Result."""
    out = {}
    ns = dict(ns, check=lambda *a, **k: out.setdefault("r", evaluate(*a, **k)))
    exec(check_source, ns)
    return out["r"]


@pytest.mark.parametrize("name", NAMES)
def test_an_unchanged_stub_is_not_attempted(course, name):
    ns = dict(course[_notebook(name)])
    cell = _cell_of(name)
    exec(cell.stub, ns)
    result = _run_check(cell.check, ns)
    assert result.status == NOT_ATTEMPTED, result.line
    assert "not attempted yet" in result.line


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_passes(course, name):
    notebook = _notebook(name)
    ns = dict(course[notebook])
    # earlier solutions of the notebook first: a later one may use them, as in the notebook
    answers = exercises.solutions(notebook)
    for cell in SECTIONS[notebook]:
        exec(answers[cell.name], ns)
        if cell.name == name:
            break
    result = _run_check(_cell_of(name).check, ns)
    assert result.passed, result.line
    assert result.line.startswith(f"✓ {name}: correct.")


# ---------------------------------------------------------------------------------------
# One plausible wrong answer per checker: it must fail, saying what differs, with the hint
# ---------------------------------------------------------------------------------------
def _wrong_symmetric(L, R, D):
    return torch.cat([L + R, L - R]), 0.5 * torch.cat([D, -D], 1)  # ½ instead of ¼


def _wrong_antisymmetric(L, R, D):
    b = torch.einsum("oh,hi,hj->oij", D, L, R)
    return b - b.mT  # no ½


def _wrong_residual(block):
    ns = {"torch": torch}
    exec(exercises.solutions("00_tensor_networks")["00.residual_block"], ns)
    layer = ns["residual_layer"](block)
    n = layer.n_out
    down = layer.down.clone()
    down[1:, -(n - 1) :] = 0  # forgot the residual
    return type(layer)(layer.left, layer.right, down)


def _wrong_spectra(net):
    from xnets_lite.core.odt import downstream_grams

    e = torch.linalg.eigvalsh(downstream_grams(net)[0]).flip(0)
    return e, e  # never orthogonalised


def _wrong_count(kind, d_input, width, n_classes, n_layers):
    per_block = 3 * (width * width + width)  # the rms biases kept
    return (
        d_input * width
        + width
        + width * n_classes
        + n_classes
        + n_layers * (2 * (width * width) if kind in ("xnet-direct", "mlp") else per_block)
        + (2 * n_layers * width if kind in ("xnet-direct", "mlp") else 0)
    )


def _wrong_brute(net):
    from xnets_lite.core.network import symmetrise

    s = symmetrise(net).dense()
    return torch.linalg.svdvals(s.movedim(1, 0).reshape(s.shape[1], -1)) ** 2  # w0, not w1


def _wrong_cosines(model, dec):
    ns = {"torch": torch}
    exec(exercises.solutions("03_eigenvectors")["03.cosine_with_linear_template"], ns)
    v = class_eigenvectors(dec, k=1).vectors[:, 0]
    g = ns["linear_template"](model)
    return (v * g).sum(1).abs()  # g not normalised


def _wrong_interactions(model, c):
    net = to_network(model)
    a = net.layers[0].down.T @ net.head[1 + c]
    return net.embed.T @ net.layers[0].left.T @ (a[:, None] * net.layers[0].right) @ net.embed


def _wrong_split(layer, w):
    ns = {"torch": torch}
    exec(exercises.solutions("04_tree")["04.split_layer"], ns)
    constant, linear, product = ns["split_layer"](layer, w)
    return constant, 2 * linear, product  # the symmetric pair counted twice


def _wrong_degree_one(net):
    return net.head[1:] @ net.embed[:, 1:], net.head[1:, 0] + net.head[1:] @ net.embed[:, 0]


def _wrong_controls(model, data):
    ns = {"torch": torch}
    exec(exercises.solutions("05_validation")["05.template_and_mean_controls"], ns)
    out = ns["control_directions"](model, data)
    x, y = data[0 : len(data)]
    out["class mean"] = torch.stack([x[y == c].mean(0) for c in range(data.n_classes)])
    return out  # not centred


def _wrong_steer(ns):
    from xnets_lite.analysis.validation import steering

    x, y = ns["test_data"][0 : len(ns["test_data"])]
    means = torch.stack([x[y == c].mean(0) for c in range(10)])  # not centred
    return steering(ns["model"], ns["test_data"], means, ns["alphas"])


def _wrong_template_cosine(model_a, model_b):
    ns = {"torch": torch}
    exec(exercises.solutions("06_similarity")["06.template_cosine"], ns)
    net_a, net_b = to_network(model_a), to_network(model_b)
    zero = torch.zeros(net_a.d_input, dtype=torch.float64)
    ga = torch.autograd.functional.jacobian(lambda x: net_a(x[None])[0], zero)
    gb = torch.autograd.functional.jacobian(lambda x: net_b(x[None])[0], zero)
    return float(torch.nn.functional.cosine_similarity(ga, gb, dim=1).mean())  # per class


def _wrong_cross_step(layer_a, layer_b, G):
    lgl = layer_a.left @ G @ layer_b.left.T
    rgr = layer_a.right @ G @ layer_b.right.T
    return layer_a.down @ (lgl * rgr) @ layer_b.down.T  # one matching: the tree as built


def _wrong_degrees(net_a, net_b):
    ns = {"torch": torch}
    exec(exercises.solutions("06_similarity")["06.degrees_by_scaling"], ns)
    out = ns["degrees_by_scaling"](net_a, net_b)
    return out.flip(0)  # degrees in the wrong order


WRONG = {
    "00.symmetric_form": (lambda ns: _wrong_symmetric, "not D(Lx ⊙ Rx) for test input x number"),
    "00.antisymmetric_part": (lambda ns: _wrong_antisymmetric, "A at (o, i, j)"),
    "00.residual_block": (lambda ns: _wrong_residual, "output at (input, coordinate"),
    "00.spectra_before_after": (lambda ns: _wrong_spectra, "'after' at index"),
    "01.parameter_counts": (lambda ns: _wrong_count, "xnet-rms with d_input="),
    "01.affine_baseline": (lambda ns: XNet(784, 16, 16, 10, 0), "close to chance"),
    "02.effective_dimension_without_constant": (
        lambda ns: lambda dec: dec.effective_dimensions(),
        "wire w",
    ),
    "02.global_spectrum_brute_force": (lambda ns: _wrong_brute, "value at index 0: yours"),
    "02.fewest_parameters": (lambda ns: [n - 1 for n in ns["dec"].widths], "parameters, but rank"),
    "03.cosine_with_linear_template": (lambda ns: _wrong_cosines, "|cos| at class"),
    "03.resign_by_logit": (lambda ns: lambda model, vectors: vectors, "wrong sign"),
    "03.signed_interactions": (lambda ns: _wrong_interactions, "Q̃ at (i, j)"),
    "04.carry_weight": (lambda ns: 2**-0.5, "yours: 0.7071"),
    "04.split_layer": (lambda ns: _wrong_split, "layer 1, the linear term at"),
    "04.degree_one_part": (lambda ns: _wrong_degree_one, "bias at class"),
    "05.template_and_mean_controls": (lambda ns: _wrong_controls, "the class mean, class"),
    "05.steer_with_class_mean": (_wrong_steer, "the centred class mean"),
    "05.largest_rest": (lambda ns: 0, "image 0 leaves"),
    "06.template_cosine": (lambda ns: _wrong_template_cosine, "the cosine: yours"),
    "06.cross_gram_step": (lambda ns: _wrong_cross_step, "G′ at (p, q)"),
    "06.degrees_by_scaling": (lambda ns: _wrong_degrees, "degree"),
}


def test_every_checker_has_a_wrong_answer():
    assert set(WRONG) == set(EXERCISES) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_answer_fails_with_what_differs_and_the_hint(course, name):
    ns = dict(course[_notebook(name)])
    make, what = WRONG[name]
    answer = make(ns)
    ns[_answer_name(name)] = answer
    result = _run_check(_cell_of(name).check, ns)
    assert result.status == "failed", result.line
    assert "Hint: " in result.line and "Traceback" not in result.line
    assert what in result.line.split("Hint: ")[0], result.line  # says what differs
    assert len(result.line) < 500 and "\n" not in result.line


def _answer_name(name):
    """The name the check cell passes as the answer (its second argument)."""
    return re.match(r'check\("[^"]+",\s*(\w+)', _cell_of(name).check).group(1)


def test_the_fewest_parameters_check_also_rejects_too_low_an_accuracy(course):
    ns = course["02_decomposition"]
    result = evaluate(
        "02.fewest_parameters",
        [1] * len(ns["dec"].widths),
        dec=ns["dec"],
        test_data=ns["test_data"],
    )
    assert result.status == "failed" and "< the target" in result.line, result.line


def test_an_exception_in_the_students_code_is_summarised():
    def broken(L, R, D):
        return L @ D  # wrong shapes

    result = evaluate("00.symmetric_form", broken)
    assert result.status == "failed"
    assert "your code raised RuntimeError" in result.line and "Hint:" in result.line


def test_a_function_returning_none_is_not_attempted_and_check_prints_one_line(capsys):
    assert exercises.check("00.antisymmetric_part", lambda L, R, D: None) is None
    result = evaluate("00.antisymmetric_part", lambda L, R, D: None)
    assert result.status == NOT_ATTEMPTED
    assert capsys.readouterr().out == result.line + "\n"


def test_an_unknown_name_says_which_exist():
    result = evaluate("09.nothing", 1)
    assert result.status == "failed" and "00.symmetric_form" in result.line


# ---------------------------------------------------------------------------------------
# Cells and fill_solutions
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("notebook", list(SECTIONS))
def test_cells_follow_the_notebook_rules(notebook):
    import nbformat

    cells = notebook_cells(notebook)
    ids = [c["id"] for c in cells]
    assert len(set(ids)) == len(ids) and all(i.startswith(prefix(notebook)) for i in ids)
    assert (
        cells[0]["source"].startswith("## Exercises")
        and f"solutions/{notebook}.py" in cells[0]["source"]
    )
    assert 2 <= len(SECTIONS[notebook]) <= 4
    for cell in cells:
        assert cell["metadata"] == {}
        if cell["cell_type"] == "code":
            assert len(cell["source"].splitlines()) <= 15
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.from_dict(c) for c in cells]
    nbformat.validate(nb)
    levels = [c.level for c in SECTIONS[notebook]]
    assert levels == sorted(levels, key=["easy", "medium", "hard"].index), "easy to hard"


@pytest.mark.parametrize("notebook", list(SECTIONS))
def test_fill_solutions_replaces_every_stub_and_nothing_else(notebook):
    nb = {
        "cells": [{"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# x"}]
        + notebook_cells(notebook),
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    filled = fill_solutions(nb)
    answers = exercises.solutions(notebook)
    assert nb["cells"][4]["source"] == SECTIONS[notebook][0].stub  # the input is unchanged
    changed = [
        (a["id"], b["source"])
        for a, b in zip(nb["cells"], filled["cells"])
        if a["source"] != b["source"]
    ]
    assert [i for i, _ in changed] == [
        f"{prefix(notebook)}-{i:02d}b" for i in range(1, len(SECTIONS[notebook]) + 1)
    ]
    assert [s for _, s in changed] == [answers[c.name] for c in SECTIONS[notebook]]
    assert fill_solutions(filled) == filled  # idempotent


def test_fill_solutions_leaves_a_notebook_without_exercises_alone_and_names_a_missing_one(tmp_path):
    plain = {"cells": [{"cell_type": "code", "id": "a", "metadata": {}, "source": "1"}]}
    assert fill_solutions(plain) == plain
    nb = {"cells": notebook_cells("04_tree")}
    (tmp_path / "04_tree.py").write_text("# %% 04.carry_weight\ncarry = 1.4\n")
    with pytest.raises(ValueError, match="04.split_layer"):
        fill_solutions(nb, tmp_path)


def test_solutions_files_have_one_section_per_exercise():
    for notebook, cells in SECTIONS.items():
        assert list(exercises.solutions(notebook)) == [c.name for c in cells]


def test_checkers_compute_their_reference_numbers():
    """The carry weight is read from a decomposed network, and it is √2."""
    from xnets_lite.course.exercises.ch04 import carry_weights

    w = carry_weights()
    assert torch.allclose(w, torch.full_like(w, 2**0.5), atol=1e-12)


# ---------------------------------------------------------------------------------------
# The notebooks themselves (after integration) and their executed copies (make test)
# ---------------------------------------------------------------------------------------
NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def _exercise_cells(nb: dict, notebook: str) -> list[dict]:
    return [c for c in nb["cells"] if c.get("id", "").startswith(prefix(notebook) + "-")]


@pytest.mark.parametrize("notebook", list(SECTIONS))
def test_the_notebook_ends_with_its_exercises(notebook):
    nb = json.loads((NB_DIR / f"{notebook}.ipynb").read_text(encoding="utf-8"))
    cells = _exercise_cells(nb, notebook)
    assert cells, "no exercise cells: run `python -m xnets_lite.course.exercises insert`"
    want = notebook_cells(notebook)
    assert nb["cells"][-len(want) :] == cells, "the exercises are the notebook's last cells"

    def key(c):
        src = c["source"]
        return c["id"], c["cell_type"], "".join(src) if isinstance(src, list) else src

    assert [key(c) for c in cells] == [key(c) for c in want], (
        "the notebook's exercise cells differ from xnets_lite/exercises/cells.py"
    )


def _check_lines(folder: str, notebook: str) -> list[str]:
    path = Path(folder) / f"{notebook}.ipynb"
    if not path.exists():
        pytest.skip(f"{path} not executed")
    nb = json.loads(path.read_text(encoding="utf-8"))
    checks = [c for c in _exercise_cells(nb, notebook) if c["id"].endswith("c")]
    assert len(checks) == len(SECTIONS[notebook]), "every exercise's check cell was run"
    return [
        "".join(
            "".join(o.get("text", "")) for o in c["outputs"] if o.get("output_type") == "stream"
        ).strip()
        for c in checks
    ]


@pytest.mark.skipif(
    "XNETS_EXECUTED" not in os.environ,
    reason="set XNETS_EXECUTED to the folder of the executed notebooks",
)
@pytest.mark.parametrize("notebook", list(SECTIONS))
def test_executed_stubs_say_not_attempted(notebook):
    """The unchanged run: in ``make test``, papermill's copies (build/test/)."""
    lines = _check_lines(os.environ["XNETS_EXECUTED"], notebook)
    assert [line.split(":")[0] for line in lines] == [f"… {c.name}" for c in SECTIONS[notebook]]
    assert all(NOT_ATTEMPTED in line for line in lines), lines


@pytest.mark.skipif(
    "XNETS_SOLVED" not in os.environ,
    reason="set XNETS_SOLVED to the folder of the notebooks run with solutions",
)
@pytest.mark.parametrize("notebook", list(SECTIONS))
def test_executed_solutions_pass(notebook):
    """The run with every solution filled in: in ``make test``, nbval's re-execution of the
    papermill copies, recorded by tests/nbval/plugin.py (``--xnets-record``)."""
    lines = _check_lines(os.environ["XNETS_SOLVED"], notebook)
    assert [line.split(":")[0] for line in lines] == [f"✓ {c.name}" for c in SECTIONS[notebook]], (
        lines
    )


def test_the_split_layer_check_prints_the_notebooks_size_ratios(course):
    """Exercise 04.split_layer and the data column of notebook 04 have one definition of
    "products against linear terms": the check prints product_usage's size ratios."""
    from xnets_lite.analysis.usage import product_usage

    ns = dict(course["04_tree"])
    exec(exercises.solutions("04_tree")["04.split_layer"], ns)
    result = _run_check(_cell_of("04.split_layer").check, ns)
    assert result.passed, result.line
    rows = product_usage(ns["dec"].truncate(ns["rank"]), ns["x_test"])
    assert " / ".join(f"{r['size_ratio']:.2f}" for r in rows) + "×" in result.line


def test_references_agree_with_the_library_where_it_has_the_same_quantity():
    """The checkers' own references against B's independent routes (degrees, interactions)."""
    degrees = pytest.importorskip("xnets_lite.analysis.degrees")
    pytest.importorskip("xnets_lite.analysis.interactions")
    from xnets_lite.course.exercises.reference import affine_part, interaction_matrix

    x = torch.randn(7, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    model = random_xnet(3, d_input=6, n_layers=2)
    jac, f0 = affine_part(model)
    parts = degrees.logit_degrees(model, x)  # (degree + 1, N, C)
    assert torch.allclose(parts[0] + parts[1], f0 + x @ jac.T, atol=1e-12)
    one = random_xnet(4, d_input=6, n_layers=1)
    f0, g, q = degrees.linear_and_quadratic(one)
    for c in range(3):
        qt = interaction_matrix(one, c)
        assert torch.allclose(qt[1:, 1:], q[c], atol=1e-12)
        assert torch.allclose(2 * qt[0, 1:], g[c], atol=1e-12) and torch.isclose(qt[0, 0], f0[c])


def test_insert_writes_the_section_once(tmp_path):
    """``python -m xnets_lite.course.exercises insert``: the section goes last, an old one is
    replaced wherever it is, and a second run changes nothing."""
    from xnets_lite.course.exercises.__main__ import insert

    name = "02_decomposition"
    nb = json.loads((NB_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))
    want = notebook_cells(name)
    others = [c for c in nb["cells"] if not c["id"].startswith("ex02-")]
    nb["cells"] = others[:3] + want[:2] + others[3:]  # a stale section, misplaced
    path = tmp_path / f"{name}.ipynb"
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert insert(path, want) is True
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert cells == others + want
    assert insert(path, want) is False


# ---------------------------------------------------------------------------------------
# Issue 21, items 3, 4 and 7: hints that work as written, a checker that rejects a missing
# abs, failure messages that name the case, ✓ lines that compare like with like.
# ---------------------------------------------------------------------------------------
def _hint_cosines(dtype_from_model: bool, absolute: bool = True):
    """03's exercise 1 written from its hint, literally."""

    def template_cosines(model, dec):
        d = dec.network.d_input
        if dtype_from_model:
            x0 = torch.zeros(d, dtype=next(model.parameters()).dtype)
        else:
            x0 = torch.zeros(d)  # the hint before issue 21: float32 only
        g = torch.autograd.functional.jacobian(lambda x: model(x[None])[0], x0)
        v = class_eigenvectors(dec, k=1).vectors[:, 0].to(g.dtype)
        cos = (v * g).sum(1) / (v.norm(dim=1) * g.norm(dim=1))
        return cos.abs() if absolute else cos

    return template_cosines


def test_the_cosine_hint_followed_literally_passes(course):
    ns = course["03_eigenvectors"]
    model, dec = ns["run"].model("xnet")[0], ns["decs"]["xnet"]
    result = evaluate("03.cosine_with_linear_template", _hint_cosines(True), model=model, dec=dec)
    assert result.passed, result.line
    hint = EXERCISES["03.cosine_with_linear_template"].hint
    assert "dtype=next(model.parameters()).dtype" in hint
    assert "arbitrary" not in hint  # the course has one sign rule (section 1)


def test_a_dtype_clash_names_the_case_and_the_cause(course):
    ns = course["03_eigenvectors"]
    model, dec = ns["run"].model("xnet")[0], ns["decs"]["xnet"]
    result = evaluate("03.cosine_with_linear_template", _hint_cosines(False), model=model, dec=dec)
    assert result.status == "failed"
    line = result.line.split("Hint: ")[0]
    assert line.startswith("✗ 03.cosine_with_linear_template: on a random residual χ-net (float64)")
    assert "your code raised RuntimeError" in line and "float32/float64 clash" in line


def test_the_cosine_check_rejects_an_answer_without_abs(course):
    ns = course["03_eigenvectors"]
    model, dec = ns["run"].model("xnet")[0], ns["decs"]["xnet"]
    result = evaluate(
        "03.cosine_with_linear_template", _hint_cosines(True, absolute=False), model=model, dec=dec
    )
    assert result.status == "failed", result.line
    line = result.line.split("Hint: ")[0]
    assert "negated twin" in line and "opposite sign" in line and "|cos|" in line


def test_the_symmetric_form_hint_leaves_the_answer_to_the_student():
    hint = EXERCISES["00.symmetric_form"].hint
    assert "D/4" not in hint and "±" not in hint


def test_the_effective_dimension_check_compares_without_the_constant(course):
    from xnets_lite.analysis.interpret import dimension_table

    ns = dict(course["02_decomposition"])
    exec(exercises.solutions("02_decomposition")["02.effective_dimension_without_constant"], ns)
    result = _run_check(_cell_of("02.effective_dimension_without_constant").check, ns)
    assert result.passed, result.line
    table = dimension_table(ns["dec"], 0.99)
    without = result.line.split("; with it")[0]
    assert f"ODT {'/'.join(map(str, table['odt_nc']))}" in without
    assert f"writer view {'/'.join(map(str, table['writer_nc']))}" in without


def test_an_error_in_the_students_code_names_the_case_first():
    def broken(L, R, D):
        return L @ D  # wrong shapes

    line = evaluate("00.symmetric_form", broken).line
    assert line.startswith("✗ 00.symmetric_form: on a random layer (L, R (5, 4), D (3, 5)), ")
    assert "your code raised RuntimeError" in line
