"""Per-class truncation read with precision as well as recall, and a collapse flag.

A truncated network can reach a high accuracy on a class (its **recall**) by predicting that
class for most images: at rank 1 a χ-net may predict three classes only. Recall alone then
reads a collapse as recognition. ``class_report`` gives, per class, recall, **precision**
(of the images predicted as c, the share that are c) and the share of all images predicted as
c, and ``collapsed`` flags a truncated network that predicts some class for more than
``factor`` times its share of the images, or never predicts some class.
"""

from __future__ import annotations

import torch
from torch import Tensor

from xnets_lite.core.evaluation import predict


def class_report(pred: Tensor, labels: Tensor, n_classes: int) -> dict:
    """``{"recall", "precision", "predicted_share", "true_share"}``, each (C,) float64, from
    predictions and labels (N,). A class never predicted gets precision NaN."""
    pred, labels = pred.long().cpu(), labels.long().cpu()
    n = len(labels)
    confusion = torch.zeros(n_classes, n_classes, dtype=torch.float64)
    confusion.index_put_((labels, pred), torch.ones(n, dtype=torch.float64), accumulate=True)
    hits = confusion.diagonal()
    true, predicted = confusion.sum(1), confusion.sum(0)
    nan = torch.tensor(float("nan"), dtype=torch.float64)
    return {
        "recall": torch.where(true > 0, hits / true.clamp_min(1), nan),
        "precision": torch.where(predicted > 0, hits / predicted.clamp_min(1), nan),
        "predicted_share": predicted / n,
        "true_share": true / n,
    }


def collapsed(report: dict, factor: float = 2.0) -> bool:
    """True when some class is predicted for more than ``factor`` times its share of the
    images, or some class present in the labels is never predicted."""
    p, t = report["predicted_share"], report["true_share"]
    return bool((p > factor * t).any() or ((p == 0) & (t > 0)).any())


@torch.no_grad()
def truncation_reports(dec, data, ranks, batch_size: int = 2000) -> list[dict]:
    """``class_report`` of ``dec.truncate(r)`` on ``data`` (a ``Dataset``) for every rank r,
    each with ``rank``, ``accuracy`` and ``collapsed`` added."""
    labels = data.labels
    out = []
    for r in ranks:
        pred = predict(dec.truncate(r), data, batch_size)
        rep = class_report(pred, labels, data.n_classes)
        rep.update(
            rank=r,
            accuracy=float((pred.cpu() == labels.cpu()).double().mean()),
            collapsed=collapsed(rep),
        )
        out.append(rep)
    return out


def report_lines(reports: list[dict]) -> list[str]:
    """Per rank: accuracy, the collapse flag, then per class recall / precision (— where a
    class is never predicted) and the share of images predicted as it."""

    def pct(v: float) -> str:
        return "  —" if v != v else f"{v:4.0%}"

    lines = []
    for rep in reports:
        flag = "COLLAPSED" if rep["collapsed"] else "not collapsed"
        lines.append(f"rank {rep['rank']}: accuracy {rep['accuracy']:.1%}, {flag}")
        lines.append(
            "   recall    " + " ".join(pct(float(v)) for v in rep["recall"]) + "\n"
            "   precision " + " ".join(pct(float(v)) for v in rep["precision"]) + "\n"
            "   predicted " + " ".join(pct(float(v)) for v in rep["predicted_share"])
        )
    return lines
