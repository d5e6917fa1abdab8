"""The course's headline findings over seeds, both χ-nets and two input units: one table.

``measure`` takes one trained χ-net and returns every number a headline finding rests on: the
on-data degree accuracies (unit-free) and, in each of the given ``units.Units``, the
weights-only readings (top class-Gram eigenvector against the linear template, its share,
ODT's effective dimensions, the rank-15 tree's sparsity against its baselines) and, in the
raw units, the ablation verdicts of notebook 05 at k = 1, 2, 3 (on a balanced test subset),
by zeroing and by mean replacement, against every control of ``READINGS``.
``findings_rows`` turns the measurements of several models into ``Finding`` rows, each with
its failure criterion, the value per model and whether it holds for **every** model;
``write_findings`` writes them as ``figures/<dataset>/findings.md``, the table the README
points to. Nothing here is typed by hand: every value comes from the run that writes the file.
``load_or_measure`` measures once per run and keeps the rows in ``findings.json`` beside the
table (keyed by the checkpoints and the code), so notebooks 02, 03, 04 and 06 print the rows
their verdicts are about (``print_rows``) and 05 writes the table from the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from xnets_lite.analysis.units import Units
from xnets_lite.files import atomic_write, exclusive

#: The seeds every headline finding is measured on.
SEEDS = (0, 1, 2)
#: The χ-nets: the course's residual blocks and the paper's direct layer.
KINDS = ("xnet", "xnet-direct")
#: Rank of the tree whose sparsity is measured (notebook 04's).
TREE_RANK = 15
#: The readings notebook 05 compares (the reading first, then its controls; the last three
#: are the controls that stay strong for k > 1, ``analysis.controls``).
READINGS = (
    "class Gram (ODT)",
    "linear template",
    "class mean (data)",
    "local (first block)",
    "random",
    "gradient covariance (data)",
    "discriminant (data)",
    "random (energy-matched)",
)
#: How the ablations remove a span (``validation.ablation_matrix``): the projection zeroed,
#: or replaced by the training mean image's.
MODES = ("zero", "mean")
#: Training images the gradient covariance is averaged over.
GRADIENT_IMAGES = 2000


def data_directions(train, n_classes: int) -> dict:
    """The controls built from the training data alone, the same for every model (compute
    once): ``{READINGS[2]: class means, READINGS[6]: discriminants}``, k = 3."""
    from xnets_lite.analysis.controls import discriminant_directions
    from xnets_lite.analysis.validation import class_mean_directions

    x, y = train[0 : len(train)]
    return {
        READINGS[2]: class_mean_directions((x, y), 3, n_classes),
        READINGS[6]: discriminant_directions(x, y, 3, n_classes),
    }


def _ablations(model, train, test, reading, seed: int, data_only=None) -> dict:
    """``{mode: {k: compare_readings(...)}}``: the class Gram's directions ``reading``
    (C, 3, d) against every control of ``READINGS``, each ablated on ``test`` (a balanced
    subset) by zeroing and by mean replacement (the training mean image), k = 1, 2, 3. The
    energy-matched random directions match, per class and k, the energy the reading's
    ablation removes from ``test``'s images in that mode (``controls.projection_energy``)."""
    from xnets_lite.analysis.controls import (
        energy_matched_random_directions,
        gradient_covariance_directions,
    )
    from xnets_lite.analysis.validation import (
        ablation_matrix,
        compare_readings,
        local_directions,
        random_directions,
        template_directions,
    )

    x_train = train[0 : len(train)][0]
    x_test, n = test[0 : len(test)][0], test.n_classes
    fixed = {
        READINGS[0]: reading,
        READINGS[1]: template_directions(model, x_train[:10000], 3),
        READINGS[3]: local_directions(model, 3, test.image_shape).vectors,
        READINGS[4]: random_directions(n, 3, test.d_input, seed=seed),
        READINGS[5]: gradient_covariance_directions(model, x_train[:GRADIENT_IMAGES], 3, n),
        **(data_directions(train, n) if data_only is None else data_only),
    }
    out = {}
    for mode in MODES:
        mean = x_train.double().mean(0) if mode == "mean" else None
        matched = energy_matched_random_directions(reading, x_test, mean, seed)
        directions = {**fixed, READINGS[7]: matched}
        abl = [
            ablation_matrix(model, test, directions[name], name=name, mode=mode, mean=mean)
            for name in READINGS
        ]
        out[mode] = {k: compare_readings(abl, READINGS[0], k) for k in (1, 2, 3)}
    return out


@torch.no_grad()
def measure(
    model, train, test, units: list[Units], ablation_test=None, seed: int = 0, data_only=None
) -> dict:
    """Every number of the headline findings for one norm-free χ-net.

    ``train``, ``test``: ``Dataset``s; ``units``: the units of the weights-only readings
    (the first is the one the ablation uses); ``ablation_test``: the (smaller) test set of
    the ablations, or None to skip them; ``seed``: of the random baselines; ``data_only``:
    the data-only controls if already computed (``data_directions(train, C)``, the same for
    every model)."""
    from xnets_lite.analysis.degrees import degree_accuracy, logit_degrees
    from xnets_lite.analysis.interpret import (
        class_eigenvectors,
        compositional_tree,
        gradient_at_zero,
        template_cosines,
    )
    from xnets_lite.analysis.sparsity import sparsity_rows
    from xnets_lite.core.odt import odt

    x, y = test[0 : len(test)]
    acc = degree_accuracy(logit_degrees(model, x), y)
    out = {
        "accuracy": float(acc[-1]),
        "degree1": float(acc[1]),
        "degree2": float(acc[2]),
        "units": {},
    }
    shape = test.image_shape
    for i, u in enumerate(units):
        dec = odt(u.fold(model))
        ce = class_eigenvectors(dec, k=3, image_shape=shape)
        cos = template_cosines(ce, gradient_at_zero(dec.network))[:, 0]
        rank = min(TREE_RANK, min(dec.widths) - 1)  # a narrow network: every direction
        tree = compositional_tree(dec, rank, image_shape=shape)
        rows = sparsity_rows(tree, n_random=1000, n_rotations=5, seed=seed)
        out["units"][u.name] = {
            "label": u.label,
            "cosine": cos,
            "top_share": ce.share[:, 0],
            "effective": dec.ranks_for(0.99),
            "width": dec.widths[0] - 1,
            "sparsity": {r.group: r for r in rows},
        }
        if i == 0 and ablation_test is not None:
            out["ablation"] = _ablations(model, train, ablation_test, ce.vectors, seed, data_only)
    return out


@dataclass
class Finding:
    """One headline finding: ``statement``, its ``criterion`` (what counts as holding, fixed
    in this module), ``units`` (of a weights-only reading, or "on data"), the value per
    model (``values``: ``{"xnet s0": "…", …}``) and ``holds`` (for every model)."""

    key: str
    statement: str
    criterion: str
    units: str
    values: dict = field(default_factory=dict)
    passed: dict = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return bool(self.passed) and all(self.passed.values())

    @property
    def verdict(self) -> str:
        n, k = len(self.passed), sum(self.passed.values())
        return "holds" if self.holds else f"does not hold ({k} of {n} models)"

    def line(self) -> str:
        """The row as printed in a notebook."""
        vals = "; ".join(f"{m}: {v}" for m, v in self.values.items())
        return f"[{self.key}] {self.statement} ({self.units}) — {vals} → {self.verdict}"


def model_name(kind: str, seed: int) -> str:
    return f"{kind} s{seed}"


def _finding(measured: dict, key: str, statement: str, criterion: str, units: str, fn) -> Finding:
    """One row: ``fn(measurement) -> (value, criterion met)`` for every model (a value of
    None leaves the model out of the row)."""
    f = Finding(key, statement, criterion, units)
    for (kind, seed), m in measured.items():
        value, ok = fn(m)
        if value is None:
            continue
        f.values[model_name(kind, seed)] = value
        f.passed[model_name(kind, seed)] = ok
    return f


def _weights_only_rows(measured: dict, n: str, label: str) -> list[Finding]:
    """The weights-only findings in the units named ``n``: template cosine, top share,
    effective dimensions (the tree's sparsity has its own rows)."""
    return [
        _finding(
            measured,
            f"template-cosine [{n}]",
            "the class Gram's top eigenvector is its class's linear template ∇logit_c(0)",
            "|cos| ≥ 0.99 on every class",
            label,
            lambda m: (
                f"{float(m['units'][n]['cosine'].min()):.3f}–"
                f"{float(m['units'][n]['cosine'].max()):.3f}",
                float(m["units"][n]["cosine"].min()) >= 0.99,
            ),
        ),
        _finding(
            measured,
            f"top-share [{n}]",
            "the top class-Gram eigenvector holds most of its class's pixel energy",
            "mean over classes > 0.5",
            label,
            lambda m: (
                f"{float(m['units'][n]['top_share'].mean()):.2f}",
                float(m["units"][n]["top_share"].mean()) > 0.5,
            ),
        ),
        _finding(
            measured,
            f"effective-dims [{n}]",
            "ODT's effective dimension (99% of the energy, constant left out) is small",
            "at most a quarter of the wire width on every wire",
            label,
            lambda m: (
                "/".join(str(d) for d in m["units"][n]["effective"]),
                max(m["units"][n]["effective"]) <= m["units"][n]["width"] / 4,
            ),
        ),
    ]


def _sparsity_rows(measured: dict, n: str, label: str) -> list[Finding]:
    """The tree's sparsity against both baselines, in the units named ``n``: the whole tree,
    then the class matrices alone."""
    return [
        _finding(
            measured,
            f"tree-sparsity [{n}]",
            f"the rank-{TREE_RANK} tree is sparse: its product blocks need fewer pairs for 90% "
            "of their mass than random symmetric matrices and than the same network in a "
            "random basis (median pairs per group: tree vs random vs rotated)",
            "median below the 5th percentile of both baselines, in every group",
            label,
            lambda m: (
                ", ".join(
                    f"{g} {float(r.tree.median()):.0f} vs {float(r.random.median()):.0f} vs "
                    f"{float(r.rotated.median()):.0f}"
                    for g, r in m["units"][n]["sparsity"].items()
                ),
                all(r.sparse for r in m["units"][n]["sparsity"].values()),
            ),
        ),
        _finding(
            measured,
            f"class-matrix-sparsity [{n}]",
            f"the rank-{TREE_RANK} tree's class matrices are sparse (as above, class matrices)",
            "median below the 5th percentile of both baselines",
            label,
            lambda m: (
                f"{float(m['units'][n]['sparsity']['classes'].tree.median()):.0f} pairs",
                m["units"][n]["sparsity"]["classes"].sparse,
            ),
        ),
    ]


def _degrees_row(measured: dict) -> Finding:
    return _finding(
        measured,
        "degrees",
        "the pairwise interactions carry most of the accuracy the network adds to its "
        "linear template (degree ≤ 1 / ≤ 2 / full accuracy, around 0)",
        "acc(≤2) − acc(≤1) > acc(full) − acc(≤2)",
        "on data, test set",
        lambda m: (
            f"{m['degree1']:.1%} / {m['degree2']:.1%} / {m['accuracy']:.1%}",
            m["degree2"] - m["degree1"] > m["accuracy"] - m["degree2"],
        ),
    )


def _similarity_rows(measured: dict, labels: dict) -> list[Finding]:
    """Notebook 06's two questions as rows: do a χ-net's seeds compute the same function
    (on data), and in the same way (weights, in every unit)?"""
    from xnets_lite.analysis.similarity_study import SAME

    if not any("similarity" in m for m in measured.values()):
        return []

    def row(name, key, statement, units):
        def value(m):
            if "similarity" not in m:
                return None, False
            v = m["similarity"][name]
            return f"{v:.3f}", v >= SAME

        return _finding(measured, key, statement, f"cosine ≥ {SAME} for every model", units, value)

    rows = [
        row(
            "function",
            "same-function",
            "the seeds of one χ-net compute the same function: the cosine of the centred "
            "test logits, mean over the other seeds of its kind (notebook 06)",
            "on data, test set",
        )
    ]
    for n, label in labels.items():
        rows.append(
            row(
                n,
                f"same-weights [{n}]",
                "the seeds of one χ-net compute it the same way: the cosine of their tree "
                "tensors (constant included), mean over the other seeds of its kind",
                label,
            )
        )
    return rows


#: How each ablation mode is stated in its row ({k}: the number of directions).
_MODE_WORDS = {
    "zero": "zeroing the inputs' projection onto each class's top-{k} class-Gram directions",
    "mean": "replacing the inputs' projection onto each class's top-{k} class-Gram directions "
    "by the training mean image's",
}


def _ablation_row(measured: dict, k: int, label: str, mode: str = "zero") -> Finding:
    def value(m):
        if "ablation" not in m:
            return None, False
        a = m["ablation"][mode][k]
        gap = 100 * (a["score"] - a["best_score"])
        return f"{a['verdict']} ({gap:+.1f} pts vs {a['best_control']})", a["verdict"] == "better"

    how = _MODE_WORDS[mode].format(k=k)
    return _finding(
        measured,
        f"ablation k={k} ({mode})",
        f"{how} is more selective than every control (template, class mean, first block, "
        "random, gradient covariance, discriminant, energy-matched random); 05's ablation on a "
        "balanced test subset",
        "verdict 'better' (selectivity, own class's accuracy lost minus the others', above "
        "the best control's by > 2 points)",
        label,
        value,
    )


def findings_rows(measured: dict) -> list[Finding]:
    """``measured``: ``{(kind, seed): measure(...)}`` → the table's rows, in reading order:
    per unit the weights-only rows, the degrees row (on data), per unit the tree's sparsity,
    then the ablation verdicts at k = 1, 2, 3 (raw units), zeroing then mean replacement,
    then whether the seeds compute the same function, and the same way (notebook 06)."""
    first = next(iter(measured.values()))
    labels = {n: first["units"][n]["label"] for n in first["units"]}
    weights = {n: _weights_only_rows(measured, n, label) for n, label in labels.items()}
    rows = [weights[n][0] for n in labels]  # the template cosine in every unit first
    rows.append(_degrees_row(measured))
    rows += [weights[n][1] for n in labels] + [weights[n][2] for n in labels]
    for n, label in labels.items():
        rows += _sparsity_rows(measured, n, label)
    raw = next(iter(labels.values()))
    rows += [_ablation_row(measured, k, raw, mode) for mode in MODES for k in (1, 2, 3)]
    return rows + _similarity_rows(measured, labels)


def findings_markdown(rows: list[Finding], label: str) -> str:
    """The table as Markdown: one row per finding, one column per model."""
    models = list(dict.fromkeys(m for r in rows for m in r.values))
    head = ["finding", "criterion", "units", *models, "verdict"]
    lines = [
        f"# Headline findings — {label}",
        "",
        "Generated by `make reproduce` (`xnets_lite.course.findings.write_findings`, "
        "notebook 05); every value is measured in that run. A finding *holds* when its "
        "criterion is met by every model listed (seeds × the residual `xnet` and the paper's "
        "direct `xnet-direct`).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        cells = [f"**{r.key}**: {r.statement}", r.criterion, r.units]
        cells += [r.values.get(m, "—") for m in models]
        cells.append(r.verdict)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_findings(rows: list[Finding], path, label: str) -> Path:
    """Write ``findings_markdown`` to ``path`` atomically; returns the path."""
    text = findings_markdown(rows, label).encode()
    return atomic_write(Path(path), lambda f: f.write(text))


@torch.no_grad()
def seed_similarity(models: dict, x, units: list[Units]) -> dict:
    """For every model of ``models`` (``{(kind, seed): model}``), its mean over the other
    seeds of its kind (models without one are left out) of: the cosine of the centred
    logits on ``x`` (what they compute, notebook 06's "same function") and, in each of
    ``units``, the cosine of the tree tensors (how they compute it, constant included:
    weights only, so it depends on the units). The weight cosines come from
    ``similarity.weight_matrix``, one cross-Gram recursion per pair of each kind's seeds."""
    from xnets_lite.analysis.similarity import weight_matrix
    from xnets_lite.core.evaluation import logits

    out = {}
    for kind in dict.fromkeys(k for k, _ in models):
        keys = [key for key in models if key[0] == kind]
        if len(keys) < 2:  # a model without another seed of its kind has nothing to compare
            continue
        f = torch.stack([logits(models[key], x).double() for key in keys])
        f = (f - f.mean(1, keepdim=True)).flatten(1)
        f = f / f.norm(dim=1, keepdim=True)
        cosines = {"function": f @ f.T}  # (M, M), and per unit the tree tensors' (all degrees)
        for u in units:
            cosines[u.name] = weight_matrix([u.fold(models[key]) for key in keys])[..., -1]
        for i, key in enumerate(keys):
            others = [j for j in range(len(keys)) if j != i]
            out[key] = {name: float(c[i, others].mean()) for name, c in cosines.items()}
    return out


def measure_all(run, kinds=KINDS, seeds=SEEDS, per_class: int = 100) -> dict:
    """``{(kind, seed): measure(...)}`` for a notebook ``Run``: every kind at every seed
    (``Run.seed_models``), in the raw units and in unit-norm images (``standard_units``),
    ablations on a balanced test subset of ``per_class`` images per class."""
    from xnets_lite.analysis.units import standard_units
    from xnets_lite.data import balanced_subset

    train, test = run.data()
    units = [u for u in standard_units(train[0 : len(train)][0]) if u.name != "data std"]
    small = balanced_subset(test, min(per_class, len(test) // test.n_classes), seed=0)
    data_only = data_directions(train, test.n_classes)  # once: data only
    out, models = {}, {}
    for kind in kinds:
        for seed, model in run.seed_models(kind, seeds).items():
            out[kind, seed] = measure(model, train, test, units, small, seed, data_only)
            models[kind, seed] = model
    for key, sims in seed_similarity(models, test[0 : len(test)][0], units).items():
        out[key]["similarity"] = sims
    return out


# ---------------------------------------------------------------------------------------
# Measured once per run: notebooks 02–06 print rows of the same measurement
# ---------------------------------------------------------------------------------------
#: The machine-readable twin of ``findings.md``, beside it: the rows and a fingerprint of what
#: they were measured from (``load_or_measure`` reads it back instead of measuring again).
CACHE = "findings.json"


def fingerprint(run, kinds=KINDS, seeds=SEEDS, per_class: int = 100) -> str | None:
    """sha256 of everything ``measure_all(run, kinds, seeds, per_class)`` depends on: the
    run's dataset, setting and seed (the fast setting's subset), the arguments, the package
    code (``outputs.package_hash``) and the weights of every seed model's checkpoint (its
    tensors, not the file: a retrain to the same weights stores another training time, and
    must not look like other models). None when a checkpoint is missing (measuring trains
    it). The global random state is left as it was."""
    import hashlib
    import json
    from dataclasses import replace

    from xnets_lite.course.outputs import package_hash

    with torch.random.fork_rng(devices=[]):  # a Run seeds torch when it is made
        runs = {s: run if s == run.seed else replace(run, seed=s) for s in seeds}
        paths = [runs[s].checkpoint_path(kind) for kind in kinds for s in seeds]
    if not all(p.is_file() for p in paths):
        return None
    what = dict(dataset=run.dataset, fast=run.fast, seed=run.seed, kinds=list(kinds))
    what.update(seeds=list(seeds), per_class=per_class, package=package_hash())
    digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode())
    for p in paths:
        digest.update(p.name.encode() + b"\0")
        state = torch.load(p, map_location="cpu", weights_only=True)["state_dict"]
        for name, tensor in state.items():
            digest.update(name.encode() + b"\0" + tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def write_rows(rows: list[Finding], path, label: str, key: str | None) -> Path:
    """The rows as JSON (``CACHE``), with the run's ``label`` and fingerprint ``key``,
    written atomically; returns the path."""
    import json

    data = dict(
        label=label,
        fingerprint=key,
        rows=[dict(vars(r), values=dict(r.values), passed=dict(r.passed)) for r in rows],
    )
    text = (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode()
    return atomic_write(Path(path), lambda f: f.write(text))


def read_rows(path) -> tuple[str | None, list[Finding]]:
    """``(fingerprint, rows)`` of a file ``write_rows`` wrote; ``(None, [])`` when there is no
    such file or it cannot be read (it is then measured again)."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return data["fingerprint"], [Finding(**r) for r in data["rows"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None, []


def load_or_measure(run, kinds=KINDS, seeds=SEEDS, per_class: int = 100) -> list[Finding]:
    """The findings rows of a notebook ``Run``, measured once per run: read from ``CACHE`` in
    the run's figure folder when its fingerprint (``fingerprint``) is this run's, otherwise
    ``findings_rows(measure_all(...))`` (seed models trained when missing) and written there.

    Notebooks 02, 03, 04 and 06 print the rows their verdicts are about and 05 writes the table, all
    from one measurement. Reading or measuring prints nothing (one status line either way,
    as ``Run.model`` shows; the models' own lines go into it), and the global random state
    is left as it was, so the cells after it print the same either way."""
    import time

    from xnets_lite.course.notebooks import _info, _rel, collected_info

    path = run.figure_dir / CACHE
    # Two notebooks side by side (make test's fast run) may both ask: one measures, the
    # other waits here and then reads what it wrote.
    with exclusive(path.with_name(f".{CACHE}.lock")):
        key = fingerprint(run, kinds, seeds, per_class)
        cached_key, rows = read_rows(path)
        if key is not None and cached_key == key and rows:
            _info(f"findings: read {_rel(path)} (measured from these checkpoints and this code)")
            return rows
        start = time.perf_counter()
        # One status line whether it reads or measures (the models' own lines are kept back).
        with torch.random.fork_rng(devices=[]), collected_info() as lines:
            rows = findings_rows(measure_all(run, kinds, seeds, per_class))
        write_rows(rows, path, run.label, fingerprint(run, kinds, seeds, per_class))
    n = len(model_names(rows))
    _info(
        f"findings: measured {n} models in {time.perf_counter() - start:.1f} s → {_rel(path)} "
        f"({'; '.join(lines)})"
    )
    return rows


def model_names(rows: list[Finding]) -> list[str]:
    """The models the rows hold a value for (``"xnet s0"``, …), in the table's order."""
    return list(dict.fromkeys(m for r in rows for m in r.values))


def select(rows: list[Finding], keys) -> list[Finding]:
    """The rows named by ``keys``, in that order: a row's full key (``"top-share [raw
    input]"``) or its finding alone (``"top-share"``: its row in every units). A key that
    names no row is an error that lists the keys there are."""
    out = []
    for key in keys:
        found = [r for r in rows if r.key == key or r.key.split(" [")[0] == key]
        if not found:
            raise KeyError(f"no findings row {key!r}; the rows: {', '.join(r.key for r in rows)}")
        out += [r for r in found if r not in out]
    return out


def print_rows(rows: list[Finding], keys) -> None:
    """Print the rows named by ``keys`` (``select``) as the table has them (``Finding.line``):
    how a notebook shows the rows of the findings its verdicts are about."""
    for r in select(rows, keys):
        print(r.line())
