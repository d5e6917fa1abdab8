"""Notebooks side by side: the dependency-aware schedule of the fast run ``make test`` makes.

One after the other, the fast run of the course takes the sum of its notebooks' times, yet
most of them only load what notebook 01 trained, so on two cores two can run at once.
``NEEDS`` says which notebook needs which (01 trains the models 02–06 load; 03 trains the
seeds 06 compares, when it measures the findings). Whenever a slot is free,
``run_side_by_side`` starts the ready notebook with the most work still behind it (its
critical path, from ``FAST_SECONDS``, which only orders and never limits anything). Each
notebook runs in a process of its own (``python -m xnets_lite.course.notebooks run --only
NAME``), its console lines prefixed with its name, and with ``cores // jobs`` threads: two
kernels that each spread over every core fight for them (OpenMP threads spin), which is
slower than running them one after the other.

The first notebook that fails stops the others, and the error names it with the end of its
log (papermill's message says which cell raised what).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path


class NotebookFailed(RuntimeError):
    """A notebook of a side-by-side run failed (its own lines above say where and why)."""


#: Which notebooks must have finished before a notebook starts (what it loads from them):
#: 01 trains the models the others load. 06 compares the seed models that 03 trains when
#: it measures the findings (``findings.load_or_measure``); 04 and 05 print findings rows
#: too, but need not wait: the first notebook to ask measures while the others wait at
#: ``load_or_measure``'s lock and then read what it wrote.
NEEDS = {
    "02_decomposition": ("01_training",),
    "03_eigenvectors": ("01_training",),
    "04_tree": ("01_training",),
    "05_validation": ("01_training",),
    "06_similarity": ("01_training", "03_eigenvectors"),
}

#: Rough seconds of each notebook in the fast run on two idle cores (``build/test/
#: timings.json``); they only order the queue.
FAST_SECONDS = {
    "00_tensor_networks": 4,
    "01_training": 14,
    "02_decomposition": 22,
    "03_eigenvectors": 71,
    "04_tree": 25,
    "05_validation": 60,
    "06_similarity": 64,
    "07_your_own_model": 11,
}


def critical_paths(names: Iterable[str], needs=NEEDS, seconds=FAST_SECONDS) -> dict[str, float]:
    """For each notebook, its seconds plus the longest chain of notebooks that wait for it.

    >>> critical_paths(["a", "b", "c"], needs={"c": ("a",)}, seconds={"a": 1, "b": 5, "c": 9})
    {'a': 10, 'b': 5, 'c': 9}
    """
    names = list(names)
    waiting = {n: [m for m in names if n in needs.get(m, ())] for n in names}
    memo: dict[str, float] = {}

    def path(n: str) -> float:
        if n not in memo:
            memo[n] = seconds.get(n, 1) + max((path(m) for m in waiting[n]), default=0)
        return memo[n]

    return {n: path(n) for n in names}


def run_side_by_side(
    names: list[str],
    jobs: int,
    start: Callable[[str], subprocess.Popen],
    needs=NEEDS,
    seconds=FAST_SECONDS,
    poll: float = 0.2,
) -> dict[str, float]:
    """Run ``names`` with at most ``jobs`` at once, each once the notebooks it needs (among
    ``names``) have finished; ``start(name)`` launches one and returns its process.
    Returns the seconds each took; raises ``NotebookFailed`` naming the first that failed
    (after stopping the others)."""
    priority = critical_paths(names, needs, seconds)
    todo = sorted(names, key=lambda n: -priority[n])
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    done: dict[str, float] = {}
    while todo or running:
        ready = [n for n in todo if all(d in done or d not in names for d in needs.get(n, ()))]
        while ready and len(running) < jobs:
            name = ready.pop(0)
            todo.remove(name)
            running[name] = (start(name), time.perf_counter())
        if not running:
            raise RuntimeError(f"notebooks wait for each other in a circle: {todo}")
        time.sleep(poll)
        for name, (proc, began) in list(running.items()):
            rc = proc.poll()
            if rc is None:
                continue
            del running[name]
            relay = getattr(proc, "relay", None)
            if relay is not None:  # its last lines reach the console first
                relay.join(5)
            if rc != 0:
                _stop(p for p, _ in running.values())
                raise NotebookFailed(
                    f"notebook {name} failed (exit status {rc}); its error is in the "
                    f"[{name}] lines above"
                )
            done[name] = round(time.perf_counter() - began, 1)
    return done


def _stop(processes) -> None:
    for proc in processes:
        proc.terminate()
    for proc in processes:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()


def child_command(name: str, options: list[str]) -> list[str]:
    """The command that runs one notebook of a side-by-side run: the pipeline itself,
    ``--only`` that notebook, with the run's other options."""
    return [sys.executable, "-m", "xnets_lite.course.notebooks", "run", "--only", name, *options]


def child_env(jobs: int, cores: int | None = None) -> dict[str, str]:
    """The environment of a side-by-side notebook: ``cores // jobs`` threads for torch's
    OpenMP and MKL pools (unless the caller fixed them), inherited by the kernel."""
    env = dict(os.environ)
    threads = str(max(1, (cores or os.cpu_count() or 1) // jobs))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, threads)
    return env


def launcher(options: list[str], jobs: int, logs: Path) -> Callable[[str], subprocess.Popen]:
    """``start`` for ``run_side_by_side``: each notebook in its own process, its console
    lines relayed with its name in front (and kept in ``logs/<name>.log``)."""
    logs.mkdir(parents=True, exist_ok=True)
    env = child_env(jobs)

    def start(name: str) -> subprocess.Popen:
        print(f"  {name}: started", file=sys.stderr, flush=True)
        log = open(logs / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115 (the relay closes it)
        proc = subprocess.Popen(
            child_command(name, options),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        proc.relay = _relay(proc, name, log)
        return proc

    return start


def _relay(proc: subprocess.Popen, name: str, log):
    """Copy the child's lines to our console, prefixed with its notebook, in a thread
    (returned, started)."""
    import threading

    def copy():
        with log:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                print(f"  [{name}] {line.rstrip()}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


def longest_first(folder: str | os.PathLike) -> list[str]:
    """The executed notebooks in ``folder``, the slowest first (by the ``timings.json`` the
    run left there, else ``FAST_SECONDS``): the order in which pytest-xdist hands them to
    nbval's workers (``--dist loadscope``), so the two long ones start at once."""
    import json

    folder = Path(folder)
    try:
        seconds = json.loads((folder / "timings.json").read_text())["seconds"]
    except (OSError, ValueError, KeyError):
        seconds = FAST_SECONDS
    paths = sorted(folder.glob("*.ipynb"))
    return [str(p) for p in sorted(paths, key=lambda p: -seconds.get(p.stem, 0))]
