"""Training (determinism, learning, resuming, progress bars, input noise), evaluation, input
checks and the command line."""

import io
import subprocess
import sys

import pytest
import torch

from xnets_lite.__main__ import main
from xnets_lite.core.model import MLP, XNet
from xnets_lite.training.train import evaluate, resolve_device, seed_everything, train

TINY = dict(d_input=784, d_model=16, d_hidden=16, n_classes=10, n_layers=2)


def _fit(mnist_small, make, seed=0, **kw):
    train_data, test_data = mnist_small
    seed_everything(seed)
    model = make()
    kw = {"epochs": 2, "batch_size": 64, "progress": False, **kw}
    return model, train(model, train_data, test_data, seed=seed, device="cpu", **kw)


@pytest.mark.parametrize("make", [lambda: XNet(**TINY), lambda: MLP(**TINY)], ids=["xnet", "mlp"])
def test_same_seed_same_history_and_weights(mnist_small, make):
    m1, h1 = _fit(mnist_small, make)
    m2, h2 = _fit(mnist_small, make)
    assert h1["train_loss"] == h2["train_loss"] and h1["test_accuracy"] == h2["test_accuracy"]
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), k
    _, h3 = _fit(mnist_small, make, seed=1)
    assert h3["train_loss"] != h1["train_loss"]


def test_history_shape_and_learning(mnist_small):
    model, history = _fit(mnist_small, lambda: XNet(**TINY), epochs=3)
    assert history["epoch"] == [1, 2, 3] and history["device"] == "cpu"
    assert history["steps"] == 3 * 16  # ceil(1000 / 64)
    assert len(history["train_loss"]) == len(history["test_accuracy"]) == len(history["time"]) == 3
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["time"] == sorted(history["time"])
    # Ten balanced classes: chance is 10%. A tiny χ-net gets far above it in 3 short epochs.
    assert history["test_accuracy"][-1] > 0.6
    assert evaluate(model, mnist_small[1]) == history["test_accuracy"][-1]


def test_train_restores_global_determinism_flag(mnist_small):
    before = torch.are_deterministic_algorithms_enabled()
    _fit(mnist_small, lambda: XNet(**TINY), epochs=1)
    assert torch.are_deterministic_algorithms_enabled() == before


def test_divergence_is_reported(mnist_small):
    with pytest.raises(FloatingPointError, match="diverged"):
        _fit(mnist_small, lambda: XNet(**TINY), epochs=1, lr=1e6)


def test_evaluate_restores_train_mode(mnist_small):
    model = XNet(**TINY)
    model.train()
    evaluate(model, mnist_small[1])
    assert model.training


def test_cuda_request_without_gpu_is_an_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        resolve_device("cuda")
    assert resolve_device(None).type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_trains_on_cuda(mnist_small):
    model = XNet(**TINY)
    history = train(model, *mnist_small, epochs=2, device="cuda", progress=False)
    assert next(model.parameters()).is_cuda and history["device"].startswith("cuda")
    assert history["test_accuracy"][-1] > 0.3


def test_wrong_input_size_is_a_clear_error():
    model = XNet(**TINY)
    with pytest.raises(ValueError, match=r"shape \(4, 1024\).*d_input=784"):
        model(torch.zeros(4, 1024))
    assert model(torch.zeros(4, 1, 28, 28)).shape == (4, 10)


# ----------------------------------------------------------------------------- CLI


def test_cli_trains_both_models_and_writes_checkpoints(tmp_path, capsys):
    rc = main(
        [
            "train",
            "--dataset",
            "mnist",
            "--epochs",
            "1",
            "--width",
            "8",
            "--layers",
            "1",
            "--out",
            str(tmp_path),
            "--no-progress",
            "--device",
            "cpu",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "dataset: mnist" in out and "not SVHN" in out
    assert "χ-net (1×8, residual)" in out and "MLP relu (1×8)" in out and "%" in out
    assert "recipe: the mnist recipe, with epochs, n_layers, width changed" in out
    # an option equal to the recipe's value is not a change
    assert (
        main(
            [
                "train",
                "--dataset",
                "mnist",
                "--epochs",
                "1",
                "--width",
                "8",
                "--layers",
                "1",
                "--batch-size",
                "128",
                "--out",
                str(tmp_path / "again"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "with epochs, n_layers, width changed" in capsys.readouterr().out
    from xnets_lite.training.checkpoint import load_checkpoint

    for kind in ("xnet", "mlp"):
        model, meta = load_checkpoint(tmp_path / "mnist" / f"{kind}.pt")
        assert meta["config"]["kind"] == kind and meta["dataset"] == "mnist"
        assert meta["recipe"]["train"]["epochs"] == 1 and 0 <= meta["test_accuracy"] <= 1


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train", "--dataset", "cifar"], "unknown dataset 'cifar'"),
        (["train", "--dataset", "svhn", "--data", "{tmp}"], "SVHN train data not found"),
    ],
)
def test_cli_bad_inputs_give_one_line_errors(tmp_path, capsys, argv, expected):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("xnets-lite: error: ") and expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_usage_errors(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--epochs", "0"])
    assert info.value.code == 2 and "positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_cli_as_a_process(tmp_path):
    """``python -m xnets_lite`` exits non-zero with a message and no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "xnets_lite", "train", "--dataset", "svhn", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "--dataset mnist" in proc.stderr and "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- input noise


def _gray(rgb):
    """kornia's ``rgb_to_grayscale`` for float images, written out: ``w_r r + w_g g + w_b b``."""
    from xnets_lite.data import LUMA

    w = torch.tensor(LUMA, dtype=rgb.dtype)
    return (rgb * w.view(1, 3, 1, 1)).sum(1)


def test_rgb_noise_to_gray_is_the_authors_noise_on_gray():
    """Noise std 0.3 on RGB, then gray (the authors' order) has the same distribution as
    noise ``rgb_noise_to_gray(0.3)`` on the gray image."""
    from scipy import stats

    from xnets_lite.training.train import rgb_noise_to_gray

    sigma = rgb_noise_to_gray(0.3)
    assert sigma == pytest.approx(0.3 * (0.299**2 + 0.587**2 + 0.114**2) ** 0.5, rel=1e-15)
    assert sigma == pytest.approx(0.2006, abs=5e-5)
    assert rgb_noise_to_gray(0.3, weights=(1.0,)) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="std must be >= 0"):
        rgb_noise_to_gray(-1.0)

    gen = torch.Generator().manual_seed(0)
    rgb = torch.rand(2000, 3, 8, 8, generator=gen, dtype=torch.float64)  # images in [0, 1]
    theirs = _gray(rgb + 0.3 * torch.randn(rgb.shape, generator=gen, dtype=torch.float64))
    ours = _gray(rgb) + sigma * torch.randn(theirs.shape, generator=gen, dtype=torch.float64)
    # No clamping anywhere: gray is linear, so the difference is exactly the gray of the noise.
    noise_theirs = (theirs - _gray(rgb)).flatten().numpy()
    noise_ours = (ours - _gray(rgb)).flatten().numpy()
    n = noise_theirs.size  # 128,000 pixels: the sample std is within ~0.2% of the true one
    assert noise_theirs.std() == pytest.approx(sigma, rel=0.01)
    assert abs(noise_theirs.mean()) < 5 * sigma / n**0.5
    assert stats.kstest(noise_theirs, "norm", args=(0, sigma)).pvalue > 1e-3
    assert stats.ks_2samp(noise_theirs, noise_ours).pvalue > 1e-3
    # The test can tell: std 0.3 put directly on the gray image is another distribution.
    assert stats.kstest(noise_theirs, "norm", args=(0, 0.3)).pvalue < 1e-10


# ----------------------------------------------------------------------------- resuming


def _run(mnist_small, resume_path=None, epochs=3, make=lambda: XNet(**TINY), **kw):
    train_data, test_data = mnist_small
    seed_everything(0)
    model = make()
    kw = {"batch_size": 64, "progress": False, "device": "cpu", "resume_every": 0, **kw}
    history = train(
        model, train_data, test_data, epochs=epochs, seed=0, resume_path=resume_path, **kw
    )
    return model, history


def _interrupt_at_step(monkeypatch, step):
    """Make the ``step``-th call of ``train_step`` raise KeyboardInterrupt (a Ctrl-C)."""
    import xnets_lite.training.train as T

    real, calls = T.train_step, [0]

    def step_or_interrupt(*args, **kwargs):
        calls[0] += 1
        if calls[0] == step:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(T, "train_step", step_or_interrupt)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize(
    "make",
    [
        lambda: XNet(**TINY),
        lambda: MLP(**TINY),
        # the SVHN recipe's model: its running RMS buffers and their calibration must resume too
        lambda: XNet(**{**TINY, "d_hidden": None}, block="direct", norm="batch-rms"),
    ],
    ids=["xnet", "mlp", "xnet-direct-batch-rms"],
)
def test_resumed_run_is_bit_identical(mnist_small, tmp_path, monkeypatch, capsys, make):
    """Interrupted in the middle of epoch 2 (16 steps an epoch), then started again: the
    weights and the history equal those of a run in one go."""
    reference, ref_history = _run(mnist_small, make=make)
    path = tmp_path / "run.resume.pt"

    _interrupt_at_step(monkeypatch, 16 + 5)
    with pytest.raises(KeyboardInterrupt):
        _run(mnist_small, path, make=make)
    monkeypatch.undo()
    saved = torch.load(path, weights_only=True)  # only tensors and JSON types
    assert saved["format"] == "xnets-lite-resume" and saved["epoch"] == 1
    assert saved["history"]["epoch"] == [1] and saved["history"]["steps"] == 16
    assert set(saved["rng"]) == {"shuffle", "noise", "torch"}

    model, history = _run(mnist_small, path, make=make)
    assert "resuming from" in capsys.readouterr().err
    _same_weights(model, reference)
    for k in ("epoch", "train_loss", "test_accuracy", "steps"):
        assert history[k] == ref_history[k], k
    assert history["resumed_at"] == [1] and ref_history["resumed_at"] == []
    assert history["time"] == sorted(history["time"])
    assert torch.load(path, weights_only=True)["epoch"] == 3  # left for the caller to remove


def test_resume_restores_the_schedule_and_optimizer(mnist_small, tmp_path, monkeypatch):
    """Interrupted after epoch 2 of 4: without the optimiser's moments and the cosine
    schedule's position the continuation would differ; with them it is exact."""
    import xnets_lite.training.resume as R

    reference, _ = _run(mnist_small, epochs=4)
    path = tmp_path / "r.pt"
    _interrupt_at_step(monkeypatch, 2 * 16 + 1)
    with pytest.raises(KeyboardInterrupt):
        _run(mnist_small, path, epochs=4)
    monkeypatch.undo()
    state = torch.load(path, weights_only=True)
    assert state["scheduler"]["last_epoch"] == 32 and state["scheduler"]["T_max"] == 64
    assert state["optimizer"]["state"][0]["step"].item() == 32

    seen = []
    real_restore = R.restore

    def spy(saved, run):
        out = real_restore(saved, run)
        seen.append((run.scheduler.last_epoch, run.optimizer.param_groups[0]["lr"]))
        return out

    monkeypatch.setattr(R, "restore", spy)
    model, _ = _run(mnist_small, path, epochs=4)
    assert seen == [(32, state["optimizer"]["param_groups"][0]["lr"])]
    assert 0 < seen[0][1] < 1e-3  # halfway down the cosine, not back at the start
    _same_weights(model, reference)


def test_finished_state_is_not_trained_again(mnist_small, tmp_path, monkeypatch):
    path = tmp_path / "r.pt"
    first, h1 = _run(mnist_small, path)
    _interrupt_at_step(monkeypatch, 1)  # any training step would now fail
    again, h2 = _run(mnist_small, path)
    _same_weights(first, again)
    assert h2["train_loss"] == h1["train_loss"] and h2["resumed_at"] == [3]


def test_resume_every_spaces_the_writes(mnist_small, tmp_path, monkeypatch):
    import xnets_lite.training.resume as R

    writes = []
    real = R.save_resume_state
    monkeypatch.setattr(
        R,
        "save_resume_state",
        lambda path, state: (writes.append(state["epoch"]), real(path, state))[1],
    )
    _run(mnist_small, tmp_path / "every.pt", resume_every=0)
    assert writes == [1, 2, 3]
    writes.clear()
    _run(mnist_small, tmp_path / "rare.pt", resume_every=1e9)
    assert writes == [3]  # the last epoch is always written
    writes.clear()
    _run(mnist_small, None)
    assert writes == []
    with pytest.raises(ValueError, match="resume_every"):
        _run(mnist_small, tmp_path / "x.pt", resume_every=-1)


# ----------------------------------------------------------------------------- progress bars


class _Bars:
    """Records every tqdm bar ``train`` opens (their totals, units, final counts)."""

    def __init__(self, monkeypatch):
        import tqdm.auto

        self.bars = []
        record = self.bars

        class Recorded(tqdm.auto.tqdm):
            def __init__(self, *args, **kwargs):
                kwargs["file"] = io.StringIO()  # keep the test output clean
                super().__init__(*args, **kwargs)
                self.unit_asked, self.leave_asked, self.resets, self.updates = (
                    kwargs.get("unit"),
                    kwargs.get("leave"),
                    0,
                    0,
                )
                record.append(self)

            def reset(self, total=None):
                self.resets += 1
                return super().reset(total)

            def update(self, n=1):
                self.updates += 1
                return super().update(n)

        monkeypatch.setattr(tqdm.auto, "tqdm", Recorded)

    def of(self, unit):
        return [b for b in self.bars if b.unit_asked == unit]


def test_batch_bar_for_long_epochs(mnist_small, monkeypatch):
    bars = _Bars(monkeypatch)
    _run(mnist_small, epochs=2, batch_size=4, progress=True)  # 250 batches an epoch
    (epoch_bar,), (batch_bar,) = bars.of("epoch"), bars.of("batch")
    assert epoch_bar.n == epoch_bar.total == 2
    assert batch_bar.leave_asked is False and batch_bar.total == 250 and batch_bar.n == 250
    assert batch_bar.resets == 1  # one bar, reset for epoch 2
    assert batch_bar.updates <= 2 * 51  # updated every few steps, not every step


def test_batch_bar_rules(mnist_small, monkeypatch):
    import xnets_lite.training.train as T

    bars = _Bars(monkeypatch)
    _run(mnist_small, epochs=2, progress=True)  # 16 batches an epoch, well under a minute
    assert bars.of("batch") == []
    bars.bars.clear()
    _run(mnist_small, epochs=2, progress=False, batch_size=4)
    assert bars.of("batch") == []  # progress=False shows nothing
    bars.bars.clear()
    monkeypatch.setattr(T, "BATCH_BAR_SECONDS", 0.0)  # "a run longer than a minute"
    _run(mnist_small, epochs=3, progress=True)
    (batch_bar,) = bars.of("batch")
    assert batch_bar.n == 16 and batch_bar.resets == 1  # shown from epoch 2 on


def test_batch_rms_scales_are_calibrated_on_clean_training_images(mnist_small):
    """The frozen scales a direct χ-net is evaluated and saved with are x-vla's calibration
    on 64 clean training batches, not the EMA of noisy training batches."""
    from xnets_lite.core.model import XNet, calibrate_batch_rms
    from xnets_lite.training.train import CALIBRATION_BATCHES, calibrate

    train_data, test_data = mnist_small
    torch.manual_seed(0)
    model = XNet(train_data.d_input, 16, n_classes=10, n_layers=2, block="direct", norm="batch-rms")
    train(model, train_data, test_data, epochs=1, batch_size=8, noise_std=0.5, progress=False)
    after = [float(n.running_rms) for n in model.norms]
    gen = torch.Generator().manual_seed(0 + 2)
    clean = [
        x
        for _, (x, _) in zip(
            range(CALIBRATION_BATCHES), train_data.batches(8, shuffle=True, generator=gen)
        )
    ]
    assert calibrate_batch_rms(model, clean) == pytest.approx(after, rel=1e-6)
    # an EMA over noisy batches would be much larger than the clean inputs' RMS
    model.train()
    with torch.no_grad():
        model(train_data[:64][0] + 0.5 * torch.randn(64, train_data.d_input))
    assert float(model.norms[0].running_rms) > after[0]
    assert calibrate(model, train_data, 8, 0, torch.device("cpu")) == pytest.approx(after, rel=1e-6)


# ----------------------------------------------------------------------------- reproducible runs


def _kind(kind):
    from xnets_lite.training.kinds import make_model

    return lambda: make_model(kind, d_input=784, width=16, n_classes=10, n_layers=2)


@pytest.mark.parametrize("kind", ["xnet", "xnet-direct", "xnet-rms", "mlp"])
def test_saves_and_resumes_never_change_the_weights(mnist_small, tmp_path, monkeypatch, kind):
    """Every model kind the course trains ends with the same bits whether its state was saved
    after every epoch, after none, or saved, interrupted and resumed with a dataset loaded
    again (a new ``Dataset`` object) and another save cadence: when a save happens (it depends
    on the machine's speed) must not matter."""
    from xnets_lite.data import balanced_subset, load_splits

    make = _kind(kind)
    never, h_never = _run(mnist_small, None, epochs=4, make=make)
    every, h_every = _run(mnist_small, tmp_path / "every.pt", epochs=4, make=make, resume_every=0)
    _same_weights(every, never)
    assert h_every["train_loss"] == h_never["train_loss"]

    path = tmp_path / "cut.pt"
    _interrupt_at_step(monkeypatch, 2 * 16 + 7)  # in epoch 3, after saves at epochs 1 and 2
    with pytest.raises(KeyboardInterrupt):
        _run(mnist_small, path, epochs=4, make=make, resume_every=0)
    monkeypatch.undo()
    train, test = load_splits("mnist")  # the loader rebuilt, as in a new process
    again = (balanced_subset(train, 100), balanced_subset(test, 30))
    assert again[0] is not mnist_small[0]
    resumed, h_resumed = _run(again, path, epochs=4, make=make, resume_every=1e9)
    assert h_resumed["resumed_at"] == [2]
    _same_weights(resumed, never)
    assert h_resumed["train_loss"] == h_never["train_loss"]
    assert h_resumed["test_accuracy"] == h_never["test_accuracy"]


def test_a_slow_machine_saves_at_other_epochs_and_ends_the_same(mnist_small, tmp_path, monkeypatch):
    """A clock that makes every epoch take a minute (a busy machine) writes the resume state
    after every epoch with the default ``resume_every``; the weights are those of a fast run
    that writes only after the last."""
    import xnets_lite.training.resume as R
    import xnets_lite.training.train as T

    make, writes = _kind("xnet-direct"), []
    real = R.save_resume_state
    monkeypatch.setattr(
        R, "save_resume_state", lambda p, s: (writes.append(s["epoch"]), real(p, s))[1]
    )
    fast, _ = _run(mnist_small, tmp_path / "fast.pt", make=make, resume_every=10.0)
    assert writes == [3]
    writes.clear()
    ticks = iter(range(0, 10**6, 60))
    monkeypatch.setattr(T.time, "perf_counter", lambda: float(next(ticks)))
    slow, _ = _run(mnist_small, tmp_path / "slow.pt", make=make, resume_every=10.0)
    assert writes == [1, 2, 3]
    _same_weights(slow, fast)


def test_training_pins_the_thread_count_and_records_it(mnist_small, tmp_path, monkeypatch, capsys):
    """MKL may choose fewer threads at run time unless torch's count is set explicitly, and
    the rounding of a product depends on it: ``train`` sets it (to the current count) and
    records it; a run resumed with another count says that its bits may differ."""
    calls = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (calls.append(n), real(n))[1])
    _, history = _run(mnist_small, epochs=1)
    assert calls == [torch.get_num_threads()] and history["threads"] == torch.get_num_threads()

    path = tmp_path / "r.pt"
    _interrupt_at_step(monkeypatch, 16 + 1)
    with pytest.raises(KeyboardInterrupt):
        _run(mnist_small, path, epochs=2)
    before = torch.get_num_threads()
    try:
        real(before + 1)
        _run(mnist_small, path, epochs=2)
    finally:
        real(before)
    assert f"saved with {before} torch threads and goes on with {before + 1}" in (
        capsys.readouterr().err
    )


_IN_ANOTHER_PROCESS = """
import sys, torch
torch.set_num_threads(1)
from xnets_lite.data import balanced_subset, load_splits
from xnets_lite.training.kinds import make_model
from xnets_lite.training.train import calibrate_hook, seed_everything, train

def stop_in_epoch_3(model, *args):
    if len(history_seen) == 2:
        raise KeyboardInterrupt
    history_seen.append(1)

history_seen = []
train_data, test_data = load_splits("mnist")
train_data, test_data = balanced_subset(train_data, 100), balanced_subset(test_data, 30)
seed_everything(0)
model = make_model("xnet-direct", d_input=784, width=16, n_classes=10, n_layers=2)
try:
    train(model, train_data, test_data, epochs=4, batch_size=64, seed=0, device="cpu",
          progress=False, resume_path=sys.argv[1], resume_every=0,
          hooks=[calibrate_hook, stop_in_epoch_3])
except KeyboardInterrupt:
    sys.exit(3)
"""


def test_a_run_resumed_in_a_new_process_ends_the_same(mnist_small, tmp_path):
    """Interrupted in another process after two saved epochs (the batch-rms χ-net, whose
    calibration runs after every epoch), then finished here: the weights of a run in one go."""
    import os
    from pathlib import Path

    import xnets_lite

    path = tmp_path / "run.resume.pt"
    root = str(Path(xnets_lite.__file__).resolve().parent.parent)  # this checkout
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", _IN_ANOTHER_PROCESS, str(path)], env=env, capture_output=True
    )
    assert done.returncode == 3, done.stderr.decode()[-2000:]
    assert torch.load(path, weights_only=True)["epoch"] == 2
    never, _ = _run(mnist_small, None, epochs=4, make=_kind("xnet-direct"))
    resumed, history = _run(mnist_small, path, epochs=4, make=_kind("xnet-direct"))
    assert history["resumed_at"] == [2]
    _same_weights(resumed, never)
