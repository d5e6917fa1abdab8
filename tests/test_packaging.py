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


def _constraints() -> list[str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _wanted() -> dict[str, SpecifierSet]:
    """Every dependency of pyproject.toml (runtime and every extra), merged by name."""
    project = _pyproject()
    reqs: dict[str, SpecifierSet] = {}
    for line in project["dependencies"] + sum(project["optional-dependencies"].values(), []):
        req = Requirement(line)
        name = canonicalize_name(req.name)
        reqs[name] = reqs.get(name, SpecifierSet()) & req.specifier
    return reqs


def test_environment_lists_the_constraints_of_every_dependency():
    """environment.yml's pip section is constraints.txt, line for line, and both cover exactly
    the dependencies of pyproject.toml (runtime + every extra)."""
    pip = [d["pip"] for d in _environment()["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip) == 1, "environment.yml needs exactly one pip section"
    have, pinned, want = _requirements(pip[0]), _requirements(_constraints()), _wanted()
    assert sorted(have) == sorted(pinned) == sorted(want), (
        f"only in environment.yml: {sorted(set(have) - set(want))}; "
        f"only in pyproject.toml: {sorted(set(want) - set(have))}; "
        f"constraints.txt: {sorted(pinned)}"
    )
    for name in want:
        assert have[name] == pinned[name], f"{name}: environment.yml {have[name]} != {pinned[name]}"


def test_constraints_pin_versions_the_package_accepts():
    """Every exact pin of constraints.txt lies in pyproject.toml's range for it, and the
    package's own runtime dependencies are ranges, not pins."""
    want = _wanted()
    for name, spec in _requirements(_constraints()).items():
        for s in spec:
            if s.operator == "==":
                assert want[name].contains(s.version), f"{name}=={s.version} not in {want[name]}"
    for line in _pyproject()["dependencies"]:
        assert "==" not in line, f"runtime dependency pinned: {line}"


def test_environment_python_satisfies_requires_python():
    conda = [d for d in _environment()["dependencies"] if isinstance(d, str)]
    python = [d for d in conda if d.split("=")[0].strip() == "python"]
    assert python, "environment.yml must pin python"
    version = python[0].split("=", 1)[1].strip("= ")
    assert SpecifierSet(_pyproject()["requires-python"]).contains(version + ".0")
    assert "pip" in conda


def test_pinned_torch():
    """The course's exact torch is in constraints.txt, and make installs with it."""
    pins = _requirements(_constraints())
    assert str(pins["torch"]) == "==2.14.1" and str(pins["torchvision"]) == "==0.29.1"
    assert str(pins["ruff"]) == "==0.17.6"
    assert "-c constraints.txt" in (ROOT / "Makefile").read_text()
    runtime = _requirements(_pyproject()["dependencies"])
    assert set(runtime) == {"torch", "numpy"}


def test_make_test_lints_with_the_configured_ruff():
    """ruff is a dev dependency, configured in pyproject.toml, and `make test` runs it first."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dev = _requirements(project["project"]["optional-dependencies"]["dev"])
    assert "ruff" in dev
    lint = project["tool"]["ruff"]
    assert lint["line-length"] == 100 and {"E", "F"} <= set(lint["lint"]["select"])
    makefile = (ROOT / "Makefile").read_text()
    assert "\ntest: lint " in makefile and "-m ruff check ." in makefile


#: Modules of the course (figures, panels, data sets, notebooks) the library must not import.
COURSE_ONLY = ("matplotlib", "ipywidgets", "torchvision", "scipy", "papermill", "nbformat", "yaml")


def test_pip_install_into_a_fresh_venv_runs_the_readme_example(tmp_path):
    """``pip install .`` into a fresh virtual environment, offline: the environment sees the
    dependencies already installed here (a .pth file naming this interpreter's
    site-packages), so pip resolves nothing new and downloads nothing. The wheel ships
    ``py.typed``; the README's "Your own model" example runs there, from the installed copy,
    and imports no course-only module."""
    import re
    import subprocess
    import sys
    import sysconfig
    import zipfile

    venv = tmp_path / "venv"
    # --without-pip: pip and setuptools come from here too (through the .pth file below)
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True
    )
    py = venv / "bin" / "python"
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_xnets_test_deps.pth").write_text("\n".join(sorted(here)) + "\n")
    dist = tmp_path / "dist"
    pip = [py, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run(
        pip + ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, ROOT],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("xnets_lite-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "xnets_lite/py.typed" in names and "xnets_lite/core/importing.py" in names
    done = subprocess.run(
        # --ignore-installed: the dependencies' folder (the .pth above) also holds this
        # checkout's editable install, which pip would otherwise take as already satisfying
        # the wheel, leaving the fresh environment without the package
        pip
        + [
            "install",
            "--no-index",
            "--no-build-isolation",
            "--no-deps",
            "--ignore-installed",
            wheel,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.partition("## Your own model")[2].partition("\n## ")[0]
    (example,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    (tmp_path / "example.txt").write_text(example, encoding="utf-8")
    code = f"""
import doctest, sys
import xnets_lite
assert xnets_lite.__file__.startswith({str(venv)!r}), xnets_lite.__file__
result = doctest.testfile("example.txt", module_relative=False,
                          optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
assert result.attempted > 10 and result.failed == 0, result
bad = [m for m in {COURSE_ONLY!r} if m in sys.modules]
assert not bad, bad
print("ok")
"""
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    ran = subprocess.run(
        [py, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600
    )
    assert ran.returncode == 0 and "ok" in ran.stdout, ran.stdout[-3000:] + ran.stderr[-3000:]
