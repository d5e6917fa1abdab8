"""What decides a prediction: the margin between the predicted class and the runner-up,
split exactly over the top wire's directions.

``validation.explain_image`` splits every logit over the top wire's directions,
``logit_c = Σ_j H[c, j] w_L[j]`` (``Explanation.contributions``). A term that is large in both
the predicted class and the runner-up decides nothing; the prediction is decided by the
margin ``logit_p − logit_r = Σ_j (H[p, j] − H[r, j]) w_L[j]``, whose terms ``margin_terms``
returns (they sum to the margin exactly).
"""

from __future__ import annotations

from torch import Tensor

from xnets_lite.analysis.interpret import direction_name


def margin_terms(expl) -> Tensor:
    """(n_L,) the margin's terms, one per direction of the top wire (index 0 the constant):
    ``contributions[predicted] − contributions[runner_up]``."""
    return expl.contributions[expl.predicted] - expl.contributions[expl.runner_up]


def margin_lines(expl, top: int = 3) -> list[str]:
    """The margin and its ``top`` largest terms by magnitude, with their share of the margin,
    beside each term's value in the predicted logit (what a logit-only explanation shows)."""
    terms = margin_terms(expl)
    margin = float(expl.logits[expl.predicted] - expl.logits[expl.runner_up])
    wire = len(expl.wires) - 1
    lines = [
        f"margin logit {expl.predicted} − logit {expl.runner_up} = {margin:+.3f} "
        f"(predicted {expl.predicted}, runner-up {expl.runner_up})"
    ]
    for j in terms.abs().argsort(descending=True)[:top].tolist():
        t = float(terms[j])
        lines.append(
            f"  {direction_name(wire, j):<8} {t:+.3f} ({t / margin:+.0%} of the margin); in logit "
            f"{expl.predicted} alone {float(expl.contributions[expl.predicted, j]):+.3f}"
        )
    return lines
