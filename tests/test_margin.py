"""The margin's terms sum exactly to the margin between the predicted class and the runner-up."""

import torch

from helpers import random_inputs, random_xnet
from xnets_lite.analysis.margin import margin_lines, margin_terms
from xnets_lite.analysis.validation import explain_image
from xnets_lite.core.odt import odt


def test_margin_terms_sum_to_the_margin():
    model = random_xnet(9, 5, 6, 4, n_layers=2, seed=2)
    dec = odt(model)
    x = random_inputs(1, 9, seed=3)[0]
    expl = explain_image(dec, x, 1, top=2, image_shape=(3, 3))
    terms = margin_terms(expl)
    margin = expl.logits[expl.predicted] - expl.logits[expl.runner_up]
    assert margin > 0 and abs(float(terms.sum() - margin)) < 1e-12
    with torch.no_grad():
        logits = model(x[None])[0]
    assert int(logits.argmax()) == expl.predicted
    lines = margin_lines(expl, top=2)
    assert len(lines) == 3 and f"runner-up {expl.runner_up}" in lines[0]
    assert "of the margin" in lines[1]
