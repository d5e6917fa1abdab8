"""xnets_lite.files: the lock that lets two notebooks side by side measure the findings once."""

import subprocess
import sys
import time

import pytest

from xnets_lite.files import exclusive

fcntl = pytest.importorskip("fcntl")


def test_a_second_process_waits_for_the_first(tmp_path):
    lock, log = tmp_path / ".x.lock", tmp_path / "log"
    holder = (
        "import sys, time\n"
        "from xnets_lite.files import exclusive\n"
        f"with exclusive({str(lock)!r}):\n"
        f"    open({str(log)!r}, 'a').write('first in\\n')\n"
        "    time.sleep(1.0)\n"
        f"    open({str(log)!r}, 'a').write('first out\\n')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", holder])
    deadline = time.monotonic() + 30
    while not log.exists() and time.monotonic() < deadline:  # the holder has the lock
        time.sleep(0.02)
    with exclusive(lock):
        log.open("a").write("second in\n")
    assert proc.wait(30) == 0
    assert log.read_text().splitlines() == ["first in", "first out", "second in"]


def test_the_lock_is_given_back_on_an_exception(tmp_path):
    lock = tmp_path / "sub" / ".y.lock"
    with pytest.raises(RuntimeError), exclusive(lock):
        raise RuntimeError("inside")
    with open(lock, "a+b") as f:  # free again: a non-blocking try succeeds
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
