"""The README's results, generated: no number in its results section is typed by hand.

``make reproduce`` on mnist (the run whose outputs the committed notebooks carry) ends by
rewriting the block of ``README.md`` between ``BEGIN`` and ``END`` from two things it made:

* the headline findings table, ``figures/mnist/findings.md`` (notebook 05, section 7), one
  line per finding: its units, the range of its value over the seeds of each χ-net, and its
  verdict (``findings_table``);
* lines the committed notebooks printed, quoted verbatim under the notebook and cell that
  printed them (``QUOTES``: a cell id, and a pattern when only some of its lines are quoted).

``tests/test_readme_results.py`` builds the block again from the committed notebooks and
table and fails when ``README.md`` holds another one. By hand, after a run:
``python -m xnets_lite.course.readme`` (``--check``: only say whether it is current).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from xnets_lite.files import REPO, atomic_write

BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"
README = REPO / "README.md"
NOTEBOOK_DIR = REPO / "notebooks"
FINDINGS = REPO / "figures" / "mnist" / "findings.md"


@dataclass(frozen=True)
class Quote:
    """The printed lines of one code cell: ``notebook`` (``"02_decomposition"``), ``cell``
    (its id), ``caption`` (what they are; no number of its own) and ``pattern`` (a regular
    expression: only the lines it finds something in; empty: every line the cell printed)."""

    notebook: str
    cell: str
    caption: str
    pattern: str = ""


def _quotes(notebook: str, *rows) -> tuple[Quote, ...]:
    return tuple(Quote(notebook, *row) for row in rows)


#: What the README quotes, by topic: ``(title, quotes)``.
QUOTES = (
    (
        "Training",
        _quotes(
            "01_training",
            ("c01-04", "the run", r"^OUTPUTS BELOW"),
            ("c01-12", "every model's size and test accuracy"),
            ("c01-14", "each χ-net against the ReLU MLP of its size", r"minus"),
            ("c01-16", "the course's χ-net at each depth"),
            ("c01-18", "training time per model, as stored with its checkpoint"),
        ),
    ),
    (
        "ODT",
        _quotes(
            "02_decomposition",
            ("c02-08", "exactness"),
            ("c02-12", "effective dimensions and the constant's share of each wire"),
            ("c02-svhn", "against the authors' slide (their SVHN numbers, not our run)"),
            ("c02-kept", "the plotted spectrum against what truncation keeps", r"^w\d"),
            ("c02-degrees", "the coefficient energy by degree"),
            ("c02-usage", "the products' share of each layer's variance on data"),
            ("c02-15", "accuracy against directions kept per wire"),
            ("c02-19", "read as error rates"),
            ("c02-base", "a baseline of about the truncated network's size"),
            ("c02-base-cmp", "the truncated χ-net against it"),
        ),
    ),
    (
        "Class eigenvectors",
        _quotes(
            "03_eigenvectors",
            ("c03-14", "the top eigenvector against the linear template"),
            ("c03-14b", "against chance and the class's centred mean image"),
            ("c03-08c", "the χ-net trained without input noise", r"^noise 0"),
            ("c03-16", "every logit split by degree"),
            ("c03-20", "the signed interactions Q_c"),
            ("c03-26", "the two χ-nets side by side"),
            ("c03-30", "in the data metric"),
            ("c03-31a", "in three units", r"\|cos\(top eigvec"),
            ("c03-34", "the RMS-normalised χ-net"),
            ("c03-37", "the RMS χ-net's shared eigenvector"),
        ),
    ),
    (
        "Compositional tree",
        _quotes(
            "04_tree",
            ("c04-06", "the tree against the network"),
            ("c04-06b", "what truncation keeps, by weights and by data"),
            ("c04-sparsity", "products against linear terms, by weights and by data"),
            ("c04-coverage", "how much of its class a trace explains", r"^explained"),
            ("c04-trivial", "what the traces name"),
            ("c04-16", "the direct χ-net's tree", r"^xnet"),
            ("c04-16t", "sparsity against random, the course's seed", r": the tree"),
        ),
    ),
    (
        "Validation on data",
        _quotes(
            "05_validation",
            ("v05-09", "ablation: selectivity of each reading and its controls"),
            ("v05-10c", "where the images an ablation makes wrong go"),
            ("v05-14", "steering other digits along one direction of a class"),
            ("v05-19", "a logit as an exact sum of terms", r"^largest"),
            ("v05-26", "the input-noise trade-off"),
            ("v05-28b", "the most accurate noise"),
            ("v05-30", "the RMS χ-net's ablation"),
            ("v05-41b", "the paper's sparse tree over seeds"),
        ),
    ),
    (
        "Similarity",
        _quotes(
            "06_similarity",
            ("s06-05", "one step of the cross-Gram recursion against explicit tensors"),
            ("s06-09", "invariance to permutations, swaps, gauges and ODT's basis"),
            ("s06-11", "the same polynomial from two trees"),
            ("s06-15", "every measure, seed against seed"),
            ("s06-15c", "where the weights' energy sits, and untrained baselines"),
            ("s06-18", "same function, same way"),
            ("s06-20", "the published method against Monte Carlo, by depth"),
            ("s06-23", "which readings carry over between seeds"),
            ("s06-23f", "the trees' interaction matrices after matching directions"),
            ("s06-24e", "the training trajectory", r"settles"),
        ),
    ),
)


# ---------------------------------------------------------------------------------------
# Reading what the run wrote
# ---------------------------------------------------------------------------------------
def printed_lines(nb: dict, cell: str) -> list[str]:
    """What code cell ``cell`` (an id) printed to stdout, line by line (trailing spaces
    dropped); a missing cell is an error."""
    found = [c for c in nb["cells"] if c.get("id") == cell and c["cell_type"] == "code"]
    if not found:
        raise ValueError(f"no code cell {cell!r}")
    text = ""
    for out in found[0].get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            t = out["text"]
            text += "".join(t) if isinstance(t, list) else t
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def quoted(nb: dict, quote: Quote) -> list[str]:
    """The lines ``quote`` takes from notebook ``nb``; none is an error that says which
    notebook and cell to look at (a notebook that no longer prints what the README quotes)."""
    lines = printed_lines(nb, quote.cell)
    if quote.pattern:
        lines = [line for line in lines if re.search(quote.pattern, line)]
    if not lines:
        raise ValueError(
            f"{quote.notebook}, cell {quote.cell}: no printed line"
            + (f" matching {quote.pattern!r}" if quote.pattern else "")
            + " (change QUOTES in xnets_lite/course/readme.py to what the notebook prints)"
        )
    return lines


def read_findings(text: str) -> tuple[str, list[str], list[dict]]:
    """``findings.md`` (``findings.findings_markdown``) read back: its title, the models
    (column names) and one dict per row: key, units, values (by model) and verdict."""
    title = next(line[2:] for line in text.splitlines() if line.startswith("# "))
    table = [line for line in text.splitlines() if line.startswith("|")]
    head = [c.strip() for c in table[0].strip()[1:-1].split("|")]
    models = head[3:-1]
    rows = []
    for line in table[2:]:
        cells = [c.strip() for c in line.strip()[1:-1].split("|")]
        key = re.match(r"\*\*(.+?)\*\*", cells[0]).group(1)
        values = dict(zip(models, cells[3:-1]))
        rows.append(dict(key=key, units=cells[2], values=values, verdict=cells[-1]))
    return title, models, rows


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def value_range(values: list[str]) -> str:
    """The values of several models in one: each number becomes its range over them
    (``lo…hi``, as printed) where the values read alike but for their numbers, and a value
    that is itself a range ``a–b`` spans the lowest ``a`` to the highest ``b``; values that
    read differently ("worse (…)", "tie (…)") are listed apart, each with its count.

    >>> value_range(["80.8% / 95.8%", "79.1% / 95.8%"])
    '79.1…80.8% / 95.8%'
    >>> value_range(["0.321–0.988", "0.726–0.993"])
    '0.321–0.993'
    >>> value_range(["worse (-4.2 pts)", "tie (+1.5 pts)", "tie (+0.6 pts)"])
    'worse (-4.2 pts) [1 of 3]; tie (+0.6…+1.5 pts) [2 of 3]'
    """
    groups: dict[str, list[list[str]]] = {}
    for v in values:
        groups.setdefault(_NUMBER.sub("\0", v), []).append(_NUMBER.findall(v))
    parts = []
    for template, numbers in groups.items():
        slots, pieces = list(zip(*numbers)), template.split("\0")
        text, i = pieces[0], 0
        while i < len(slots):
            if i + 1 < len(slots) and pieces[i + 1] == "–":  # a range a–b: lowest a, highest b
                text += f"{min(slots[i], key=float)}–{max(slots[i + 1], key=float)}"
                text, i = text + pieces[i + 2], i + 2
                continue
            lo, hi = min(slots[i], key=float), max(slots[i], key=float)
            text += (lo if float(lo) == float(hi) else f"{lo}…{hi}") + pieces[i + 1]
            i += 1
        parts.append(text + (f" [{len(numbers)} of {len(values)}]" if len(groups) > 1 else ""))
    return "; ".join(parts)


def _kind(model: str) -> str:
    """``"xnet-direct s1"`` → ``"xnet-direct"``."""
    return model.rsplit(" s", 1)[0]


def findings_table(text: str) -> list[str]:
    """``findings.md`` as a compact Markdown table: per finding its units, per χ-net the
    range of its value over the seeds (``value_range``), and its verdict."""
    title, models, rows = read_findings(text)
    kinds = list(dict.fromkeys(_kind(m) for m in models))
    seeds = {k: ", ".join(m.rsplit(" ", 1)[1] for m in models if _kind(m) == k) for k in kinds}
    lines = [
        f"**{title}** ([`figures/mnist/findings.md`](figures/mnist/findings.md): each finding's "
        "statement and criterion, and every model's value):",
        "",
        "| finding | units | " + " | ".join(f"{k} ({seeds[k]})" for k in kinds) + " | verdict |",
        "|---|---|" + "---|" * len(kinds) + "---|",
    ]
    for r in rows:
        ranges = [
            value_range([v for m, v in r["values"].items() if _kind(m) == k and v != "—"]) or "—"
            for k in kinds
        ]
        lines.append(
            f"| {r['key']} | {r['units']} | " + " | ".join(ranges) + f" | {r['verdict']} |"
        )
    return lines


# ---------------------------------------------------------------------------------------
# The block
# ---------------------------------------------------------------------------------------
def results_block(notebooks=NOTEBOOK_DIR, findings=FINDINGS, quotes=None) -> str:
    """The generated block (without its markers): the findings table, then per topic the
    quoted lines (``quotes``, default ``QUOTES``), each under its cell id and caption."""
    notebooks, findings = Path(notebooks), Path(findings)
    quotes = QUOTES if quotes is None else quotes
    out = [
        "<!-- Generated by `python -m xnets_lite.course.readme` (run by `make reproduce` on "
        "mnist) from figures/mnist/findings.md and the committed notebooks' outputs: "
        "do not edit by hand. -->",
        "",
        *findings_table(findings.read_text(encoding="utf-8")),
    ]
    loaded: dict[str, dict] = {}
    for title, group in quotes:
        names = list(dict.fromkeys(q.notebook for q in group))
        links = ", ".join(f"[`notebooks/{n}.ipynb`](notebooks/{n}.ipynb)" for n in names)
        out += ["", f"**{title}**, as printed by {links} (each cell's lines under its id):", ""]
        out.append("```text")
        for q in group:
            if q.notebook not in loaded:
                path = notebooks / f"{q.notebook}.ipynb"
                loaded[q.notebook] = json.loads(path.read_text(encoding="utf-8"))
            out += [f"# {q.cell}: {q.caption}", *quoted(loaded[q.notebook], q)]
        out.append("```")
    return "\n".join(out) + "\n"


def current_block(text: str) -> str:
    """The block between ``BEGIN`` and ``END`` in ``text`` (the README's); each marker must
    be there once, ``BEGIN`` first, each on a line of its own."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"README.md needs one line {BEGIN} and, after it, one line {END}")
    return text.split(BEGIN + "\n", 1)[1].split(END, 1)[0]


def with_block(text: str, block: str) -> str:
    """``text`` with the block between the markers replaced by ``block``."""
    old = current_block(text)
    head, tail = text.split(BEGIN + "\n" + old + END, 1)
    return head + BEGIN + "\n" + block + END + tail


def update_readme(readme=README, notebooks=NOTEBOOK_DIR, findings=FINDINGS, quotes=None) -> bool:
    """Rewrite the README's results block (atomically); whether it changed."""
    readme = Path(readme)
    text = readme.read_text(encoding="utf-8")
    new = with_block(text, results_block(notebooks, findings, quotes))
    if new == text:
        return False
    atomic_write(readme, lambda f: f.write(new.encode("utf-8")))
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xnets_lite.course.readme", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    if args.check:
        text = README.read_text(encoding="utf-8")
        current = current_block(text) == results_block()
        print("README.md results: " + ("current" if current else "stale"))
        return 0 if current else 1
    changed = update_readme()
    print("README.md results: " + ("updated" if changed else "unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
