"""The findings table: rows from measurements with known answers, and one measurement of a
tiny random χ-net end to end."""

import torch

from helpers import random_xnet
from xnets_lite.analysis.units import Units
from xnets_lite.course.findings import (
    READINGS,
    Finding,
    data_directions,
    findings_markdown,
    findings_rows,
    measure,
    seed_similarity,
    write_findings,
)
from xnets_lite.data.dataset import Dataset


def fake(cos_min: float, share: float, effective, deg=(0.8, 0.95, 0.98), verdicts=None):
    class Row:  # the two attributes findings_rows reads of a SparsityRow
        def __init__(self, sparse):
            self.sparse = sparse
            self.tree = self.random = self.rotated = torch.tensor([50.0])

    units = {
        "raw input": {
            "label": "raw input (x/1)",
            "cosine": torch.tensor([cos_min, 1.0]),
            "top_share": torch.tensor([share, share]),
            "effective": effective,
            "width": 128,
            "sparsity": {"layer 1": Row(False), "classes": Row(True)},
        }
    }
    m = {"degree1": deg[0], "degree2": deg[1], "accuracy": deg[2], "units": units}
    if verdicts:
        m["ablation"] = {
            mode: {
                k: {"verdict": v, "score": 0.1, "best_score": 0.05, "best_control": "random"}
                for k, v in zip((1, 2, 3), verdicts if mode == "zero" else verdicts[::-1])
            }
            for mode in ("zero", "mean")
        }
    return m


def test_rows_hold_only_when_every_model_meets_the_criterion():
    measured = {
        ("xnet", 0): fake(0.995, 0.7, [10, 20, 30, 9], verdicts=["worse", "tie", "better"]),
        ("xnet", 1): fake(0.95, 0.4, [10, 40, 30, 9], deg=(0.8, 0.85, 0.98)),
    }
    rows = {r.key: r for r in findings_rows(measured)}
    cos = rows["template-cosine [raw input]"]
    assert cos.passed == {"xnet s0": True, "xnet s1": False} and not cos.holds
    assert cos.values["xnet s0"] == "0.995–1.000"
    assert rows["degrees"].passed == {"xnet s0": True, "xnet s1": False}
    assert rows["top-share [raw input]"].passed == {"xnet s0": True, "xnet s1": False}
    assert rows["effective-dims [raw input]"].passed == {"xnet s0": True, "xnet s1": False}
    assert not rows["tree-sparsity [raw input]"].holds
    assert rows["class-matrix-sparsity [raw input]"].holds
    # the ablation rows exist for the models that measured it
    assert rows["ablation k=3 (zero)"].passed == {"xnet s0": True}
    assert rows["ablation k=1 (zero)"].verdict == "does not hold (0 of 1 models)"
    assert rows["ablation k=1 (mean)"].holds and not rows["ablation k=3 (mean)"].holds
    assert "zeroing" in rows["ablation k=2 (zero)"].statement
    assert "mean image" in rows["ablation k=2 (mean)"].statement
    assert "> 2 points" in rows["ablation k=2 (mean)"].criterion
    text = findings_markdown(list(rows.values()), "toy")
    assert "| **degrees**" in text and "xnet s1" in text


def test_write_findings(tmp_path):
    f = Finding("k", "s", "c", "u", {"m": "1"}, {"m": True})
    path = write_findings([f], tmp_path / "mnist" / "findings.md", "toy")
    assert "holds" in path.read_text() and f.line().endswith("→ holds")


def test_measure_a_tiny_chi_net():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (60, 4, 4), generator=gen, dtype=torch.uint8)
    labels = torch.arange(60) % 3
    train = Dataset(images, labels, "toy", "train", n_classes=3)
    test = Dataset(images[:30], labels[:30], "toy", "test", n_classes=3)
    model = random_xnet(16, 8, 8, 3, n_layers=2, seed=1).float()
    m = measure(model, train, test, [Units(1.0, name="raw"), Units(4.0, name="big")], test)
    assert set(m["units"]) == {"raw", "big"} and set(m["ablation"]) == {"zero", "mean"}
    assert all(set(m["ablation"][mode]) == {1, 2, 3} for mode in ("zero", "mean"))
    controls = {m["ablation"][mode][k]["best_control"] for mode in m["ablation"] for k in (1, 2, 3)}
    assert controls <= set(READINGS[1:])
    assert 0 <= m["degree1"] <= 1 and m["units"]["raw"]["cosine"].shape == (3,)
    rows = findings_rows({("xnet", 0): m})
    assert all(r.values for r in rows)
    # the data-only controls computed once and passed in give the same verdicts
    once = data_directions(train, 3)
    assert set(once) == {"class mean (data)", "discriminant (data)"}
    again = measure(model, train, test, [Units(1.0, name="raw")], test, data_only=once)
    assert again["ablation"] == m["ablation"]


def test_seed_models_use_each_seeds_checkpoint_and_keep_the_random_state(monkeypatch, tmp_path):
    from xnets_lite.course.notebooks import Run

    run = Run("mnist", fast=True, checkpoints=str(tmp_path / "c"), figures=str(tmp_path / "f"))
    calls = []

    def fake_model(self, kind, progress=None, **overrides):
        calls.append(self.checkpoint_path(kind).name)
        torch.manual_seed(123)  # training reseeds the global generator
        return f"model {self.seed}", {}

    monkeypatch.setattr(Run, "model", fake_model)
    state = torch.get_rng_state()
    out = run.seed_models("xnet-direct", (0, 1, 2))
    assert out == {0: "model 0", 1: "model 1", 2: "model 2"}
    assert [name.rsplit("-", 1)[1] for name in calls] == ["s0.pt", "s1.pt", "s2.pt"]
    assert torch.equal(torch.get_rng_state(), state)


def test_seed_similarity_compares_each_model_with_the_other_seeds_of_its_kind():
    """Two seeds that are the same network score 1; the third, a different network, less;
    the other kind is never compared; a folded unit changes the weight cosine, not the
    function's."""
    a = random_xnet(6, 5, 5, 3, n_layers=2, seed=1)
    b = random_xnet(6, 5, 5, 3, n_layers=2, seed=2)
    x = torch.randn(40, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    models = {("xnet", 0): a, ("xnet", 1): a, ("xnet", 2): b, ("xnet-direct", 0): b}
    units = [Units(1.0, name="raw input"), Units(3.0, name="scaled")]
    sims = seed_similarity(models, x, units)
    from xnets_lite.analysis.similarity import weight_cosine
    from xnets_lite.core.evaluation import logits

    fa, fb = logits(a, x), logits(b, x)
    fa, fb = fa - fa.mean(0), fb - fb.mean(0)
    ab = float((fa * fb).sum() / (fa.norm() * fb.norm()))
    assert abs(sims["xnet", 0]["function"] - (1 + ab) / 2) < 1e-12
    assert abs(sims["xnet", 2]["function"] - ab) < 1e-12
    assert abs(sims["xnet", 0]["raw input"] - (1 + weight_cosine(a, b)) / 2) < 1e-12
    assert (
        abs(sims["xnet", 2]["scaled"] - weight_cosine(units[1].fold(a), units[1].fold(b))) < 1e-12
    )
    assert sims["xnet", 2]["scaled"] != sims["xnet", 2]["raw input"]
    assert ("xnet-direct", 0) not in sims  # no other seed of its kind
    measured = {k: fake(0.995, 0.7, [10, 20, 30, 9]) for k in models}
    for k, v in sims.items():
        measured[k]["similarity"] = v
    rows = {r.key: r for r in findings_rows(measured)}
    assert rows["same-function"].passed["xnet s0"] == (sims["xnet", 0]["function"] >= 0.9)
    assert (
        rows["same-weights [raw input]"].values["xnet s2"] == f"{sims['xnet', 2]['raw input']:.3f}"
    )
    assert "xnet-direct s0" not in rows["same-function"].values
