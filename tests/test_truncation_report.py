"""Precision, recall and the collapse flag on predictions whose answers are known."""

import math

import torch

from xnets_lite.analysis.truncation_report import class_report, collapsed, report_lines


def test_a_collapsed_classifier_has_high_recall_and_low_precision():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    pred = torch.tensor([0, 0, 0, 0, 0, 2])  # class 0 for almost everything
    rep = class_report(pred, labels, 3)
    assert rep["recall"].tolist() == [1.0, 0.0, 0.5]
    assert rep["precision"][0] == 0.4 and math.isnan(float(rep["precision"][1]))
    assert rep["predicted_share"].tolist() == [5 / 6, 0.0, 1 / 6]
    assert collapsed(rep)
    lines = report_lines([dict(rep, rank=1, accuracy=0.5, collapsed=True)])
    assert "COLLAPSED" in lines[0] and "—" in lines[1]


def test_a_balanced_classifier_is_not_collapsed():
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    pred = torch.tensor([0, 1, 2, 1, 1, 2])
    rep = class_report(pred, labels, 3)
    assert rep["precision"].tolist() == [1.0, 2 / 3, 1.0]
    assert not collapsed(rep)
