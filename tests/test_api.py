"""The public API: a curated ``__all__``, importable without the figure or widget stack."""

import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import xnets_lite

# modules whose docstrings carry runnable examples of the public API
DOCTEST_MODULES = [
    "xnets_lite",
    "xnets_lite.core.network",
    "xnets_lite.core.evaluation",
    "xnets_lite.core.odt",
    "xnets_lite.training.config",
    "xnets_lite.training.kinds",
    "xnets_lite.core.importing",
    "xnets_lite.core.saving",
    "xnets_lite.analysis.interpret",
    "xnets_lite.core.compress",
    "xnets_lite.analysis.interactions",
    "xnets_lite.analysis.degrees",
]


def test_every_public_name_resolves_to_its_definition():
    assert 18 <= len(xnets_lite.__all__) <= 30
    for name in xnets_lite.__all__:
        value = getattr(xnets_lite, name)
        if name != "__version__":
            module = importlib.import_module(f"xnets_lite.{xnets_lite._WHERE[name]}")
            assert getattr(module, name) is value, name
    assert set(xnets_lite.__all__) <= set(dir(xnets_lite))
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        xnets_lite.nonsense  # noqa: B018


def test_the_degree_split_is_public():
    from xnets_lite.analysis.degrees import logit_degrees

    assert xnets_lite.logit_degrees is logit_degrees


def test_import_pulls_in_no_figures_or_widgets():
    """Neither the package nor its whole public surface imports matplotlib or ipywidgets."""
    code = (
        "import sys, xnets_lite\n"
        "assert 'matplotlib' not in sys.modules and 'ipywidgets' not in sys.modules\n"
        "[getattr(xnets_lite, n) for n in xnets_lite.__all__]\n"
        "bad = [m for m in ('matplotlib', 'ipywidgets') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_library_layers_import_no_figures_or_widgets():
    """Every module of the library layers (core, data, analysis, training) imports without
    matplotlib, ipywidgets or papermill: what a researcher who never draws pulls in."""
    code = (
        "import sys, pkgutil, importlib, xnets_lite\n"
        "for layer in ('core', 'data', 'analysis', 'training'):\n"
        "    pkg = importlib.import_module('xnets_lite.' + layer)\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        if m.name == '__main__': continue\n"
        "        importlib.import_module(f'xnets_lite.{layer}.{m.name}')\n"
        "bad = [m for m in ('matplotlib', 'ipywidgets', 'papermill') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_layer_contracts_hold_and_make_lint_runs_them():
    """import-linter's contracts (pyproject.toml) name every layer, `make lint` runs them, and
    they hold on the code as it is."""
    import tomllib

    root = Path(xnets_lite.__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    named = {part.strip().split(".")[-1] for layer in layers for part in layer.split("|")}
    assert named == {"course", "viz", "training", "analysis", "core", "data", "files"}
    assert "lint-imports" in (root / "Makefile").read_text().split("\nlint:")[1].split("\n\n")[0]
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


def _import_graph() -> dict[str, set[str]]:
    """``module → the package modules it imports`` (anywhere in the file, lazy imports too)."""
    import ast
    from pathlib import Path

    pkg = Path(xnets_lite.__file__).parent
    mods = {}
    for p in pkg.rglob("*.py"):
        parts = p.with_suffix("").relative_to(pkg.parent).parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    graph = {m: set() for m in mods}
    for m, p in mods.items():
        base = m.split(".") if p.name == "__init__.py" else m.split(".")[:-1]
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                up = base[: len(base) - node.level + 1]
                target = ".".join(up + [node.module or ""]).strip(".")
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
                graph[m] |= {t for t in names if t in mods and t != m}
    return graph


# the library's chain, bottom to top, and the training house
ONE_WAY = [
    "xnets_lite.core.model",
    "xnets_lite.core.network",
    "xnets_lite.core.odt",
    "xnets_lite.core.evaluation",
    "xnets_lite.training.storage",
    "xnets_lite.training.config",
    "xnets_lite.training.kinds",
    "xnets_lite.training.resume",
    "xnets_lite.training.train",
    "xnets_lite.training.checkpoint",
    "xnets_lite.training.recipes",
    "xnets_lite.core.compress",
    "xnets_lite.course.report",
    "xnets_lite.data",
]


def test_imports_point_one_way():
    """No module of the library chain is reachable from the modules it imports (no cycle):
    train ↔ checkpoint, the one cycle there was, is gone."""
    graph = _import_graph()
    for start in ONE_WAY:
        seen, todo = set(), list(graph[start])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo += graph[m]
        assert start not in seen, f"{start} imports itself through {sorted(seen)}"
    assert "xnets_lite.training.checkpoint" not in graph["xnets_lite.training.train"]
    assert "xnets_lite.training.train" not in graph["xnets_lite.training.recipes"]


def test_readme_example_runs():
    """The README's "Your own model" example is a doctest too."""
    import re
    from pathlib import Path

    text = (Path(xnets_lite.__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.partition("## Your own model")[2].partition("\n## ")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    if not blocks:
        pytest.skip("README has no 'Your own model' example yet")
    parser, runner = (
        doctest.DocTestParser(),
        doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE),
    )
    for i, block in enumerate(blocks):
        runner.run(parser.get_doctest(block, {}, f"README example {i}", "README.md", 0))
    assert runner.summarize(verbose=False).failed == 0


def test_every_public_function_documents_args_returns_and_an_example():
    """Issue 23: Args, Returns and a runnable Example on every public function (the examples
    run above, as doctests of their modules); classes carry an example or their attributes."""
    import inspect

    missing = []
    for name in xnets_lite.__all__:
        obj = getattr(xnets_lite, name)
        if name == "__version__":
            continue
        doc = inspect.getdoc(obj) or ""
        if inspect.isclass(obj):
            if ">>>" not in doc and "Attributes:" not in doc and "Args:" not in doc:
                missing.append(f"{name}: no example or attributes")
            continue
        for part in ("Args:", "Returns:"):
            if part not in doc:
                missing.append(f"{name}: no {part}")
        if ">>>" not in doc and "Example: see" not in doc:
            missing.append(f"{name}: no example")
    assert not missing, missing


def test_public_functions_have_type_hints():
    import inspect

    for name in xnets_lite.__all__:
        obj = getattr(xnets_lite, name)
        if name == "__version__" or inspect.isclass(obj):
            continue
        sig = inspect.signature(obj)
        unannotated = [
            p.name
            for p in sig.parameters.values()
            if p.annotation is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        assert not unannotated, f"{name}: parameters without a type hint: {unannotated}"
        assert sig.return_annotation is not inspect.Signature.empty, f"{name}: no return type"
