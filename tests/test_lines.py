"""Notebook 02's comparison of a truncation with models trained directly at its size."""

from xnets_lite.course.lines import direct_training_verdict, trained_at_size_line

ROWS = {
    8: dict(rank=8, parameters=8_379, accuracy=0.8497),
    32: dict(rank=32, parameters=81_807, accuracy=0.9808),
}
TRAINED = {
    8: {"xnet": (9, 7_975, 0.9222), "mlp": (10, 8_620, 0.9202)},
    32: {"xnet": (61, 82_543, 0.9745), "mlp": (68, 82_222, 0.9687)},
}


def test_trained_at_size_line_shows_every_model_and_its_own_numbers():
    line = trained_at_size_line(ROWS[8], TRAINED[8], (0.9272, 7_850))
    for text in (
        "rank 8/wire",
        "8,379",
        "84.97%",
        "xnet trained at width 9: 7,975, 92.22%",
        "mlp trained at width 10: 8,620, 92.02%",
        "logistic regression 7,850, 92.72%",
    ):
        assert text in line, (text, line)
    assert line.endswith("truncated no better than direct training")
    line = trained_at_size_line(ROWS[32], TRAINED[32], (0.9272, 7_850))
    assert line.endswith("truncated better than direct training")


def test_direct_training_verdict_names_the_ranks_where_the_claim_fails_and_holds():
    verdict = direct_training_verdict(ROWS, TRAINED)
    assert "fails at rank 8 per wire" in verdict and "holds at rank 32 per wire" in verdict
    tie = {8: {"xnet": (9, 7_975, 0.8497)}}  # as accurate: the truncation is no better
    assert "fails at rank 8 per wire" in direct_training_verdict({8: ROWS[8]}, tie)
    assert "holds" not in direct_training_verdict({8: ROWS[8]}, tie)
    both = direct_training_verdict(
        {k: ROWS[8] | {"rank": k} for k in (8, 13)}, {8: tie[8], 13: tie[8]}
    )
    assert "fails at rank 8 and 13 per wire" in both and "holds" not in both
