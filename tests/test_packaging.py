"""environment.yml (conda) and pyproject.toml (pip) must list the same dependencies."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _requirements(lines) -> dict[str, SpecifierSet]:
    reqs = {}
    for line in lines:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in reqs, f"{req.name} listed twice"
        reqs[name] = req.specifier
    return reqs


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def test_environment_lists_pyproject_dependencies_and_extras():
    project = _pyproject()
    wanted = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        wanted += extra
    pip = [d["pip"] for d in _environment()["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml needs exactly one pip section"
    have, want = _requirements(pip[0]), _requirements(wanted)
    assert sorted(have) == sorted(want), (
        f"only in environment.yml: {sorted(set(have) - set(want))}; "
        f"only in pyproject.toml: {sorted(set(want) - set(have))}"
    )
    for name in want:
        assert have[name] == want[name], (
            f"{name}: environment.yml {have[name]} != pyproject {want[name]}"
        )


def test_environment_python_satisfies_requires_python():
    conda = [d for d in _environment()["dependencies"] if isinstance(d, str)]
    python = [d for d in conda if d.split("=")[0].strip() == "python"]
    assert python, "environment.yml must pin python"
    version = python[0].split("=", 1)[1].strip("= ")
    assert SpecifierSet(_pyproject()["requires-python"]).contains(version + ".0")
    assert "pip" in conda


def test_pinned_torch():
    deps = _requirements(_pyproject()["dependencies"])
    assert str(deps["torch"]) == "==2.14.1" and str(deps["torchvision"]) == "==0.29.1"


def test_make_test_lints_with_the_configured_ruff():
    """ruff is a dev dependency, configured in pyproject.toml, and `make test` runs it first."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dev = _requirements(project["project"]["optional-dependencies"]["dev"])
    assert "ruff" in dev
    lint = project["tool"]["ruff"]
    assert lint["line-length"] == 100 and {"E", "F"} <= set(lint["lint"]["select"])
    makefile = (ROOT / "Makefile").read_text()
    assert "\ntest: lint " in makefile and "-m ruff check ." in makefile
