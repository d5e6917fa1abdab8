"""The tree's sparsity measures and their baselines, on matrices whose answers are known."""

import pytest
import torch

from xnets_lite.analysis.interpret import Tree
from xnets_lite.analysis.sparsity import (
    effective_pairs,
    mass_count,
    pair_masses,
    product_blocks,
    random_symmetric,
    rotated_blocks,
    sparsity_rows,
)


def test_pair_masses_count_off_diagonal_pairs_twice():
    m = torch.tensor([[1.0, 2.0], [2.0, 3.0]])
    assert pair_masses(m).tolist() == [1.0, 8.0, 9.0]  # (0,0), (0,1)+(1,0), (1,1)


def test_mass_count_and_effective_pairs_known_answers():
    one = torch.zeros(4, 4)
    one[1, 2] = one[2, 1] = 5.0
    assert int(mass_count(one)) == 1 and float(effective_pairs(one)) == pytest.approx(1.0)
    even = torch.ones(4, 4) / torch.tensor(2.0).sqrt()  # every pair mass 1 off the diagonal
    even.fill_diagonal_(1.0)  # and 1 on it
    assert int(mass_count(even, 0.9)) == 9  # 10 pairs of equal mass: 9 hold 90%
    assert float(effective_pairs(even)) == pytest.approx(10.0)
    two = torch.diag(torch.tensor([3.0, 1.0, 0.0]))  # masses 9, 1: 90% needs exactly 1 pair
    assert int(mass_count(two, 0.9)) == 1 and int(mass_count(two, 0.95)) == 2
    with pytest.raises(ValueError, match="share"):
        mass_count(one, 0.0)


def test_random_symmetric_baseline_is_dense():
    r = random_symmetric(15, 500, seed=1)
    assert torch.equal(r, r.mT)
    counts = mass_count(r)
    # a Gaussian 15×15 symmetric matrix needs about half its 120 pairs for 90% of the mass
    assert 45 <= float(counts.median()) <= 62


def toy_tree(interactions, classes) -> Tree:
    return Tree(torch.zeros(1, 1, 1), interactions, classes, [], [])


def test_rotation_keeps_the_mass_and_destroys_a_sparse_basis():
    k = 6
    inter = torch.zeros(k + 1, k + 1, k + 1, dtype=torch.float64)
    for o in range(1, k + 1):  # output o = product of directions o and o (diagonal, sparse)
        inter[o, o, o] = 1.0
    classes = torch.zeros(3, k + 1, k + 1, dtype=torch.float64)
    for c in range(3):
        classes[c, c + 1, c + 2] = classes[c, c + 2, c + 1] = 1.0
    tree = toy_tree([inter], classes)
    blocks = product_blocks(tree)
    assert blocks["layer 1"].shape == (k, k, k) and blocks["classes"].shape == (3, k, k)
    rot = rotated_blocks(tree, seed=3)
    # a rotation of the wires keeps the total mass of each group (Frobenius norm)
    for g in blocks:
        assert float((rot[g] ** 2).sum()) == pytest.approx(float((blocks[g] ** 2).sum()))
    rows = {r.group: r for r in sparsity_rows(tree, n_random=200, n_rotations=5)}
    assert rows["classes"].tree.tolist() == [1.0, 1.0, 1.0]
    assert rows["classes"].sparse and rows["layer 1"].sparse
    assert float(rows["classes"].rotated.median()) > 3


def test_a_random_tree_is_not_sparse():
    gen = torch.Generator().manual_seed(0)
    k = 8
    inter = torch.randn(k + 1, k + 1, k + 1, generator=gen, dtype=torch.float64)
    inter = inter + inter.mT
    classes = torch.randn(4, k + 1, k + 1, generator=gen, dtype=torch.float64)
    classes = classes + classes.mT
    rows = sparsity_rows(toy_tree([inter], classes), n_random=300, n_rotations=5)
    assert not any(r.sparse for r in rows)
    assert "not sparser than both" in rows[0].line()
