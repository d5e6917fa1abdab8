"""ODT: every gauge step is exact, the Grams are what the algorithm promises, and the
spectra equal the singular values of the dense network tensor (computed by brute force)."""

import pytest
import torch

from helpers import BLOCKS, DENSE_CASES, NORMS, SHAPES, assert_close, random_inputs, random_xnet
from xnets_lite.core.model import MLP
from xnets_lite.core.network import symmetrise, to_network
from xnets_lite.core.odt import (
    diagonalise,
    downstream_grams,
    effective_dimension,
    local_spectra,
    odt,
    orthogonalise,
    participation_ratio,
    truncate,
    upstream_grams,
)

CASES = [
    (shape, n_layers, norm, block)
    for shape in SHAPES
    for n_layers in (1, 2, 3, 4)
    for norm in NORMS
    for block in BLOCKS
]
# tiny models whose dense tensor is affordable: (norm, n_layers, d_input, block)
TINY = [
    (norm, n_layers, d_input, block) for block in BLOCKS for norm, n_layers, d_input in DENSE_CASES
]


def eye_like(g):
    return torch.eye(g.shape[0], dtype=g.dtype)


@pytest.mark.parametrize("shape,n_layers,norm,block", CASES)
def test_every_gauge_step_is_exact(shape, n_layers, norm, block):
    model = random_xnet(*shape, n_layers=n_layers, norm=norm, seed=3, block=block)
    x = random_inputs(12, shape[0])
    logits = model(x).detach()
    net = symmetrise(to_network(model))
    ortho = orthogonalise(net)
    assert_close(ortho(x), logits)
    diag, _, _ = diagonalise(ortho)
    assert_close(diag(x), logits)
    assert_close(odt(model).network(x), logits)
    full = [w - 1 for w in diag.widths]
    assert_close(truncate(diag, full)(x), logits)


@pytest.mark.parametrize("shape,n_layers,norm,block", CASES)
def test_grams_after_orthogonalise_and_diagonalise(shape, n_layers, norm, block):
    model = random_xnet(*shape, n_layers=n_layers, norm=norm, seed=5, block=block)
    net = symmetrise(to_network(model))
    # Whitening a Gram of condition number κ loses about log10(κ) digits. Direct blocks
    # square their wires, so random ones reach κ ≈ 1e9 at depth 4 (residual ones ≈ 1e4).
    tols = [1e-9 + 1e-14 * float(torch.linalg.cond(g)) for g in upstream_grams(net)]
    ortho = orthogonalise(net)
    for g, tol in zip(upstream_grams(ortho), tols):
        assert_close(g, eye_like(g), tol)
    dec = odt(model)
    for g, tol in zip(upstream_grams(dec.network), tols):  # rotations keep them the identity
        assert_close(g, eye_like(g), tol)
    for m, imp in zip(downstream_grams(dec.network), dec.importance):
        block = m[1:, 1:]
        assert_close(block - torch.diag(block.diagonal()), torch.zeros_like(block), 1e-9)
        assert_close(m.diagonal(), imp, 1e-9)
        assert (imp[1:-1] >= imp[2:] - 1e-9).all()  # sorted, largest first
    # the constant coordinate stays a constant: wire 0's first row is a pure e₀
    e = dec.network.embed
    assert e[0, 0] > 0 and e[0, 1:].abs().max() == 0


def unfold_spectrum(net, wire):
    """Squared singular values of the dense network tensor, with the 2^wire input copies
    under the leftmost copy of ``wire`` as rows and everything else as columns.

    The tensor of a polynomial is not unique; the tree's own tensor after symmetrising
    every layer (``L ⊗ R → ½(L ⊗ R + R ⊗ L)``) is the canonical one, the same under every
    swap of two sibling subtrees, so that every copy of a wire has the same spectrum."""
    dense = net.dense()
    rows = (net.d_input + 1) ** (2**wire)
    mat = dense.reshape(dense.shape[0], rows, -1).transpose(0, 1).reshape(rows, -1)
    return torch.linalg.svdvals(mat) ** 2


@pytest.mark.parametrize("norm,n_layers,d_input,block", TINY)
def test_spectra_equal_brute_force_singular_values(norm, n_layers, d_input, block):
    model = random_xnet(d_input, 3, 4, 2, n_layers=n_layers, norm=norm, seed=11, block=block)
    net = symmetrise(to_network(model))
    dec = odt(model)
    assert len(dec.spectra) == len(net.layers) + 1
    for wire, spectrum in enumerate(dec.spectra):
        brute = unfold_spectrum(net, wire)
        n = min(len(brute), len(spectrum))
        scale = float(brute[0])
        assert_close(spectrum[:n] / scale, brute[:n] / scale, 1e-9)
        assert float(brute[n:].sum()) <= 1e-9 * scale and float(spectrum[n:].sum()) <= 1e-9 * scale


def squared_norm(net):
    """Squared Frobenius norm of the symmetrised tree's dense tensor (brute force)."""
    return float((symmetrise(net).dense() ** 2).sum())


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize(
    "norm,n_layers", [(None, 1), (None, 2), (None, 3), ("rms", 1), ("batch-rms", 2)]
)
def test_truncating_the_last_wire_removes_exactly_the_discarded_energy(norm, n_layers, block):
    model = random_xnet(2, 4, 5, 3, n_layers=n_layers, norm=norm, seed=2, block=block)
    dec = odt(model)
    total = squared_norm(dec.network)
    assert total == pytest.approx(float(dec.spectra[-1].sum()), rel=1e-9)
    widths = [w - 1 for w in dec.widths]
    for k in range(widths[-1] + 1):
        cut = truncate(dec.network, widths[:-1] + [k])
        discarded = float(dec.importance[-1][k + 1 :].sum())
        assert squared_norm(cut) == pytest.approx(total - discarded, rel=1e-9, abs=1e-12 * total)


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("n_layers", [2, 3])
def test_truncating_one_copy_of_an_inner_wire_removes_exactly_its_discarded_eigenvalues(
    n_layers, block
):
    # Cut one copy only: in the symmetrised tree, the left input of the last layer (which
    # has one copy in the tree; its right input is the other copy of the same wire). The
    # change in the squared norm is then exactly the discarded eigenvalues of that wire's
    # downstream Gram.
    model = random_xnet(2, 4, 5, 3, n_layers=n_layers, seed=4, block=block)
    dec = odt(model)
    net = symmetrise(dec.network)  # same basis, every layer L = R
    total = float((net.dense() ** 2).sum())
    assert total == pytest.approx(squared_norm(dec.network), rel=1e-12)
    wire = n_layers - 1
    for k in (0, 1, 3):
        layer = net.layers[wire]
        proj = torch.zeros(layer.n_in, dtype=net.dtype)
        proj[: k + 1] = 1
        cut = net.replace(
            layers=net.layers[:wire] + [type(layer)(layer.left * proj, layer.right, layer.down)]
        )
        discarded = float(dec.importance[wire][k + 1 :].sum())
        assert discarded > 0
        cut_norm = float((cut.dense() ** 2).sum())  # this cut must not be re-symmetrised
        assert cut_norm == pytest.approx(total - discarded, rel=1e-9, abs=1e-12 * total)


def test_truncated_network_is_smaller_and_runs():
    model = random_xnet(6, 5, 4, 3, n_layers=3, seed=9)
    dec = odt(model)
    cut = dec.truncate([3, 2, 2, 1])
    assert cut.widths == [4, 3, 3, 2]
    assert cut.num_parameters() < dec.network.num_parameters()
    out = cut(random_inputs(4, 6))
    assert out.shape == (4, 3) and torch.isfinite(out).all()
    only_constant = dec.truncate(0)
    assert only_constant.widths == [1, 1, 1, 1]  # the constant is never truncated


def padded(values, n):
    return torch.cat([values, values.new_zeros(n - len(values))])


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("norm", NORMS)
def test_local_spectra_equal_brute_force_svd_of_each_layer(norm, block):
    # reader view: the layer that reads the wire, flattened with its (first) input as rows
    raw = to_network(random_xnet(4, 3, 5, 2, n_layers=2, seed=1, norm=norm, block=block))
    net = symmetrise(raw)
    local = local_spectra(raw)
    assert [len(s) for s in local] == net.widths
    for layer, spectrum in zip(net.layers, local):
        dense = layer.dense()  # (o, i, j)
        brute = torch.linalg.svdvals(dense.permute(1, 0, 2).reshape(layer.n_in, -1)) ** 2
        assert_close(spectrum, padded(brute, layer.n_in), 1e-10)
    head = torch.linalg.svdvals(net.head[1:]) ** 2
    assert_close(local[-1], padded(head, len(local[-1])), 1e-10)
    assert all(torch.equal(a, b) for a, b in zip(local_spectra(raw, view="reader"), local))


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n_layers", [1, 3])
def test_writer_local_spectra_equal_brute_force_svd_of_each_producer(norm, block, n_layers):
    # writer view: the layer that produces the wire, flattened with its output as rows and
    # its two (symmetrised) inputs as columns; for wire 0 the embedding [[1, 0], [b, W]]
    net = to_network(random_xnet(4, 3, 5, 2, n_layers=n_layers, seed=6, norm=norm, block=block))
    writer = local_spectra(net, view="writer")
    assert [len(s) for s in writer] == net.widths
    embed = torch.linalg.svdvals(net.embed) ** 2
    assert_close(writer[0], padded(embed, net.widths[0]), 1e-10)
    for layer, spectrum in zip(net.layers, writer[1:]):
        flat = layer.dense(symmetric=True).reshape(layer.n_out, -1)  # (o, i·j)
        brute = torch.linalg.svdvals(flat) ** 2
        assert_close(spectrum, padded(brute, layer.n_out), 1e-10)
    # the same spectra come from the explicitly symmetrised network
    for a, b in zip(writer, local_spectra(symmetrise(net), view="writer")):
        assert_close(a, b, 1e-10)


def test_local_views_through_the_decomposition():
    model = random_xnet(6, 5, 4, 3, n_layers=3, seed=2, block="direct", norm="batch-rms")
    dec = odt(model)
    net = to_network(model)
    for view in ("reader", "writer"):
        for a, b in zip(dec.local_spectra(view), local_spectra(net, view)):
            assert_close(a, b, 1e-12)
        dims = dec.local_effective_dimensions(0.99, view=view)
        assert dims == [effective_dimension(s, 0.99) for s in local_spectra(net, view)]
        assert all(1 <= d <= w for d, w in zip(dims, net.widths))
    assert dec.local is dec.local_spectra("reader")  # the default stays the reader view
    assert dec.local_effective_dimensions(0.9) == dec.local_effective_dimensions(0.9, "reader")
    with pytest.raises(ValueError, match="'reader'.*'writer'"):
        dec.local_effective_dimensions(view="consumer")
    with pytest.raises(ValueError, match="'reader'.*'writer'"):
        local_spectra(net, view="both")


def test_effective_dimension_and_participation_ratio():
    s = torch.tensor([50.0, 30.0, 19.0, 0.9, 0.1])
    assert effective_dimension(s, 0.99) == 3
    assert effective_dimension(s, 0.5) == 1
    assert effective_dimension(s, 1.0) == 5
    assert effective_dimension(torch.zeros(4)) == 0
    assert participation_ratio(torch.ones(7)) == pytest.approx(7)
    assert participation_ratio(torch.tensor([1.0, 0, 0])) == pytest.approx(1)
    with pytest.raises(ValueError, match="energy"):
        effective_dimension(s, 0)


def test_effective_dimension_of_a_trained_like_model_is_reported_per_wire():
    dec = odt(random_xnet(6, 5, 4, 3, n_layers=3))
    dims = dec.effective_dimensions()
    assert len(dims) == 4 and all(1 <= d <= w for d, w in zip(dims, dec.widths))
    assert len(dec.local_effective_dimensions()) == 4


@pytest.mark.parametrize(
    "ranks,error,match",
    [
        (9, ValueError, "out of range"),
        (-1, ValueError, "out of range"),
        ([1, 1], ValueError, "one rank per wire"),
        (1.5, TypeError, "int"),
        ([1, 1, "2", 1], TypeError, "wire 2"),
        (True, TypeError, "int"),
    ],
)
def test_bad_ranks_are_clear_errors(ranks, error, match):
    dec = odt(random_xnet(6, 5, 4, 3, n_layers=3))
    with pytest.raises(error, match=match):
        dec.truncate(ranks)


def test_bad_arguments_are_clear_errors():
    model = random_xnet(6, 5, 4, 3, n_layers=2)
    with pytest.raises(TypeError, match="float32 or torch.float64"):
        odt(model, dtype=torch.int64)
    with pytest.raises(TypeError, match="XNet or a Network"):
        odt(MLP(6, 5, 4, 3, 2))
    with pytest.raises(ValueError, match="unknown device"):
        odt(model, device="tpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            odt(model, device="cuda")


def test_float32_runs_and_stays_close():
    model = random_xnet(6, 5, 4, 3, n_layers=2)
    x = random_inputs(8, 6)
    dec = odt(model, dtype=torch.float32)
    assert dec.network.dtype == torch.float32
    assert_close(dec.network(x).double(), model(x).detach(), 1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu():
    model = random_xnet(6, 5, 4, 3, n_layers=3)
    cpu, gpu = odt(model), odt(model, device="cuda")
    for a, b in zip(cpu.spectra, gpu.spectra):
        assert_close(b.cpu(), a, 1e-9)


def test_a_network_without_a_constant_coordinate_is_refused():
    net = to_network(random_xnet(6, 5, 4, 3, n_layers=2))
    broken = net.replace(embed=torch.cat([torch.zeros_like(net.embed[:1]), net.embed[1:]]))
    with pytest.raises(ValueError, match="homogeneous coordinate"):
        odt(broken)


@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("norm", NORMS)
def test_grams_of_a_raw_network_are_those_of_its_symmetrised_tree(norm, block):
    # ODT never symmetrises explicitly: the Grams computed from L and R must equal those of
    # the explicitly symmetrised network (whose hidden size is twice as large).
    net = to_network(random_xnet(5, 4, 6, 3, n_layers=3, norm=norm, seed=12, block=block))
    sym = symmetrise(net)
    assert not all(layer.is_symmetric for layer in net.layers)
    for a, b in zip(upstream_grams(net), upstream_grams(sym)):
        assert_close(a, b)
    for a, b in zip(downstream_grams(net), downstream_grams(sym)):
        assert_close(a, b)


@pytest.mark.parametrize("energy", [0.5, 0.9, 0.99, 1.0])
def test_truncate_by_energy_keeps_the_fewest_directions_holding_that_share(energy):
    """quimb's rsum2 rule per wire: the discarded importances sum to at most (1 − e) of the
    total, and dropping one more direction would break that."""
    dec = odt(random_xnet(6, 5, 4, 3, n_layers=2, seed=3))
    ranks = dec.ranks_for(energy)
    for imp, k in zip(dec.importance, ranks):
        rest = imp[1:]
        total = float(rest.sum())
        assert float(rest[k:].sum()) <= (1 - energy) * total + 1e-12 * total
        if k > 0:
            assert float(rest[k - 1 :].sum()) > (1 - energy) * total
    net = dec.truncate(energy=energy)
    assert [w - 1 for w in net.widths] == ranks
    assert net.widths == dec.truncate(ranks).widths
    x = random_inputs(8, 6)
    assert torch.equal(net(x), dec.truncate(ranks)(x))
    if energy == 1.0:  # all the energy: the function itself
        assert_close(net(x), dec.network(x))


def test_truncate_needs_ranks_or_energy():
    dec = odt(random_xnet(6, 5, 4, 3, n_layers=1))
    with pytest.raises(TypeError, match="exactly one of ranks"):
        dec.truncate()
    with pytest.raises(TypeError, match="exactly one of ranks"):
        dec.truncate(2, energy=0.9)
    with pytest.raises(ValueError, match="energy must be in"):
        dec.truncate(energy=1.5)
