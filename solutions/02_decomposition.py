# Solutions to the exercises of notebooks/02_decomposition.ipynb.
#
# One "# %% <exercise name>" section per exercise: the code that replaces the exercise's stub
# cell (`exercises.fill_solutions`). Each section runs in the notebook, after its cells:
# `torch`, `dec` and `test_data` come from there.
# ruff: noqa: F821, E402  (sections are notebook cells: names from the notebook, imports per cell)

# %% 02.effective_dimension_without_constant
from xnets_lite.core.odt import effective_dimension


def dims_without_constant(dec):
    """importance[w][0] is the constant; the rest are the non-constant eigenvalues."""
    return [effective_dimension(imp[1:], 0.99) for imp in dec.importance]


# %% 02.global_spectrum_brute_force
from xnets_lite.core.network import symmetrise


def brute_force_spectrum(net):
    """Copies are ordered left subtree first: the first copy of w1 feeds input copies 1, 2."""
    S = symmetrise(net).dense()  # (classes, P, P, P, P)
    P = S.shape[1]
    unfolded = S.permute(1, 2, 0, 3, 4).reshape(P * P, -1)  # rows (i1, i2)
    return torch.linalg.svdvals(unfolded) ** 2


# %% 02.fewest_parameters
from xnets_lite.analysis.interpret import measure_truncation
from xnets_lite.course.exercises.ch02 import target_accuracy

target = target_accuracy(dec, test_data)  # 97.5%, lower in the fast setting


def ok(r):
    return measure_truncation(dec, test_data, r)["accuracy"] >= target


lo, hi = 1, min(dec.widths) - 1
while lo < hi:  # the smallest uniform rank that reaches it
    mid = (lo + hi) // 2
    lo, hi = (lo, mid) if ok([mid] * len(dec.widths)) else (mid + 1, hi)
ranks = [hi] * len(dec.widths)
for w in range(len(ranks)):  # then lower one wire at a time
    while ranks[w] > 1 and ok(ranks[:w] + [ranks[w] - 1] + ranks[w + 1 :]):
        ranks[w] -= 1
