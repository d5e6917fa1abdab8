"""The side-by-side schedule of make test's fast run (xnets_lite/course/schedule.py)."""

from __future__ import annotations

import sys

import pytest

from xnets_lite.course import schedule
from xnets_lite.course.notebooks import NOTEBOOKS


class FakeProcess:
    """A process that finishes after ``ticks`` polls with ``rc``."""

    def __init__(self, name, log, ticks=2, rc=0):
        self.name, self.log, self.ticks, self.rc = name, log, ticks, rc
        self.terminated = False

    def poll(self):
        self.ticks -= 1
        if self.ticks > 0 and not self.terminated:
            return None
        self.log.append(("end", self.name))
        return -15 if self.terminated else self.rc

    def terminate(self):
        self.terminated = True
        self.log.append(("terminated", self.name))

    def wait(self, timeout=None):
        return -15


def fake_start(log, ticks=None, rc=None):
    ticks, rc = ticks or {}, rc or {}

    def start(name):
        running = sum(1 for e, _ in log if e == "start") - sum(1 for e, _ in log if e == "end")
        log.append(("start", name))
        log.append(("concurrent", running + 1))
        return FakeProcess(name, log, ticks.get(name, 2), rc.get(name, 0))

    return start


def test_critical_path_puts_the_longest_chain_first():
    paths = schedule.critical_paths(NOTEBOOKS)
    # 01 → 03 → (04, 05, 06) is the longest chain; 01 carries it all, then 03
    assert max(paths, key=paths.get) == "01_training"
    assert paths["03_eigenvectors"] > max(paths[n] for n in ("02_decomposition", "05_validation"))


def test_every_notebook_starts_after_what_it_needs_and_at_most_jobs_run_at_once():
    log = []
    names = list(NOTEBOOKS) + ["06_similarity"] * ("06_similarity" not in NOTEBOOKS)
    timings = schedule.run_side_by_side(names, 2, fake_start(log), poll=0)
    assert set(timings) == set(names)
    order = [n for e, n in log if e == "start"]
    ends = [n for e, n in log if e == "end"]
    for name, needs in schedule.NEEDS.items():
        for need in needs:
            assert ends.index(need) < order.index(name), (need, name)
    assert max(n for e, n in log if e == "concurrent") == 2
    assert order[0] == "01_training"  # the head of the longest chain starts first


def test_one_job_runs_them_one_at_a_time():
    log = []
    schedule.run_side_by_side(
        ["00_tensor_networks", "01_training", "02_decomposition"], 1, fake_start(log), poll=0
    )
    assert max(n for e, n in log if e == "concurrent") == 1


def test_a_failure_stops_the_others_and_names_the_notebook():
    log = []
    start = fake_start(log, ticks={"07_your_own_model": 50}, rc={"01_training": 1})
    with pytest.raises(schedule.NotebookFailed, match="notebook 01_training failed"):
        schedule.run_side_by_side(
            ["01_training", "07_your_own_model", "02_decomposition"], 2, start, poll=0
        )
    started = [n for e, n in log if e == "start"]
    assert "02_decomposition" not in started  # it needed 01, which failed
    assert ("terminated", "07_your_own_model") in log  # stopped, not left running


def test_needs_outside_the_run_do_not_block():
    """``--only 02 03`` with 01's checkpoints already there: nothing waits for 01."""
    log = []
    schedule.run_side_by_side(["02_decomposition", "03_eigenvectors"], 2, fake_start(log), poll=0)
    assert max(n for e, n in log if e == "concurrent") == 2


def test_child_threads_share_the_cores_unless_fixed(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    env = schedule.child_env(jobs=2, cores=2)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert schedule.child_env(jobs=2, cores=8)["OMP_NUM_THREADS"] == "4"
    assert schedule.child_env(jobs=4, cores=2)["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert schedule.child_env(jobs=2, cores=2)["OMP_NUM_THREADS"] == "3"


def test_the_launcher_relays_each_line_with_its_notebook_and_keeps_a_log(
    tmp_path, monkeypatch, capfd
):
    code = "import os; print('line one'); print('threads', os.environ['OMP_NUM_THREADS'])"
    monkeypatch.setattr(
        schedule, "child_command", lambda name, options: [sys.executable, "-c", code]
    )
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    start = schedule.launcher([], jobs=2, logs=tmp_path / "logs")
    timings = schedule.run_side_by_side(["04_tree"], 2, start, poll=0.05)
    assert set(timings) == {"04_tree"}
    err = capfd.readouterr().err
    assert "[04_tree] line one" in err
    expected = str(max(1, (__import__("os").cpu_count() or 1) // 2))
    assert f"[04_tree] threads {expected}" in err
    assert (tmp_path / "logs" / "04_tree.log").read_text().splitlines()[0] == "line one"


def test_a_child_is_the_pipeline_itself_on_one_notebook():
    cmd = schedule.child_command("03_eigenvectors", ["--fast", "--child"])
    assert cmd[1:6] == ["-m", "xnets_lite.course.notebooks", "run", "--only", "03_eigenvectors"]
    assert cmd[-2:] == ["--fast", "--child"]


def test_the_cli_refuses_zero_jobs(capsys):
    from xnets_lite.course.notebooks import main

    with pytest.raises(SystemExit):
        main(["run", "--jobs", "0"])
    assert "--jobs must be at least 1" in capsys.readouterr().err


def test_nbval_gets_the_slowest_notebooks_first(tmp_path):
    for name in ("00_a", "01_b", "02_c"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    assert [p[-10:] for p in schedule.longest_first(tmp_path)] == [
        "00_a.ipynb",
        "01_b.ipynb",
        "02_c.ipynb",
    ]
    (tmp_path / "timings.json").write_text('{"seconds": {"00_a": 1, "01_b": 9, "02_c": 5}}')
    assert [p[-10:] for p in schedule.longest_first(tmp_path)] == [
        "01_b.ipynb",
        "02_c.ipynb",
        "00_a.ipynb",
    ]
