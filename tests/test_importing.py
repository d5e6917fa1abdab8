"""Issue 23: your own bilinear model in one call, verified.

The fixtures re-create, in plain torch, the five models of the issue's trial (residual blocks
with biases and hidden sizes 8, 12, 5; a direct variant; the one-layer bias-free bilinear MLP;
one with a ReLU; one with ``nn.RMSNorm``) and the layers of the public bilinear repositories
from their published definitions (written here, not copied): tdooms/bilinear-decomposition's
``Bilinear(nn.Linear)`` (L over R in one weight, optional gate), ``MLP`` and image ``Model``;
J0YY/x-vla's ``DirectBilinearLayer``, ``BilinearFFN`` and the frozen scalar ``RmsBatchNorm``,
with a forward that returns ``(logits, loss)``. Then every row of the issue's "what the trial
hit" list, one test each.
"""

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import xnets_lite as xl
from xnets_lite.core.checking import ImportCheckError
from xnets_lite.core.importing import from_module, recognise
from xnets_lite.core.network import from_factors
from xnets_lite.core.odt import diagonalise, orthogonalise, truncate

D_IN, WIDTH, CLASSES = 20, 6, 4


# ---------------------------------------------------------------------------------------
# The trial's five models
# ---------------------------------------------------------------------------------------
class Block(nn.Module):
    """``W_out((W_l x + b_l) ⊙ (W_r x + b_r)) + b_out``."""

    def __init__(self, d, h, bias=True):
        super().__init__()
        self.left = nn.Linear(d, h, bias=bias)
        self.right = nn.Linear(d, h, bias=bias)
        self.down = nn.Linear(h, d, bias=bias)

    def forward(self, x):
        return self.down(self.left(x) * self.right(x))


class Stack(nn.Module):
    """embedding → blocks (residual or direct, an optional activation or norm) → head."""

    def __init__(self, residual=True, act=None, norm=None, hidden=(8, 12, 5), bias=True):
        super().__init__()
        self.embed = nn.Linear(D_IN, WIDTH)
        self.blocks = nn.ModuleList(Block(WIDTH, h, bias) for h in hidden)
        self.norms = None if norm is None else nn.ModuleList(norm() for _ in hidden)
        self.head = nn.Linear(WIDTH, CLASSES)
        self.residual, self.act = residual, act

    def forward(self, x):
        x = self.embed(x)
        for i, block in enumerate(self.blocks):
            y = x if self.norms is None else self.norms[i](x)
            y = block(y if self.act is None else self.act(y))
            x = x + y if self.residual else y
        return self.head(x)


class OneLayer(nn.Module):
    """The one-layer bias-free bilinear MLP: ``logits = P (Lx ⊙ Rx)``, no embedding."""

    def __init__(self, h=10):
        super().__init__()
        self.left = nn.Linear(D_IN, h, bias=False)
        self.right = nn.Linear(D_IN, h, bias=False)
        self.head = nn.Linear(h, CLASSES, bias=False)

    def forward(self, x):
        return self.head(self.left(x) * self.right(x))


def rmsnorm():
    norm = nn.RMSNorm(WIDTH)
    nn.init.uniform_(norm.weight, 0.5, 1.5)
    return norm


def seeded(factory, seed=0):
    torch.manual_seed(seed)
    return factory()


# ---------------------------------------------------------------------------------------
# tdooms/bilinear-decomposition (shared/components.py, image/model.py), re-created
# ---------------------------------------------------------------------------------------
class DoomsBilinear(nn.Linear):
    """One weight (2 d_out, d_in): L is its first half of rows, R the second; ``gate`` on L."""

    def __init__(self, d_in, d_out, bias=False, gate=None):
        super().__init__(d_in, 2 * d_out, bias=bias)
        self.gate = {"relu": nn.ReLU(), None: nn.Identity()}[gate]

    def forward(self, x):
        left, right = super().forward(x).chunk(2, dim=-1)
        return self.gate(left) * right

    @property
    def w_l(self):
        return self.weight.chunk(2, dim=0)[0]

    @property
    def w_r(self):
        return self.weight.chunk(2, dim=0)[1]


class DoomsLinear(nn.Linear):
    def __init__(self, d_in, d_out, bias=False):
        super().__init__(d_in, d_out, bias=bias)
        self.gate = nn.Identity()

    def forward(self, x):
        return self.gate(super().forward(x))


class DoomsMLP(nn.Module):
    def __init__(self, d_model, d_hidden, bias=False):
        super().__init__()
        self.w = DoomsBilinear(d_model, d_hidden, bias=bias)
        self.p = nn.Linear(d_hidden, d_model, bias=bias)

    def forward(self, x):
        return self.p(self.w(x))


class DoomsModel(nn.Module):
    """The image model: embed → blocks (``x + layer(x)`` or ``layer(x)``) → head."""

    def __init__(self, d_hidden=8, n_layer=2, bias=False, residual=False, gate=None, mlp=False):
        super().__init__()
        self.embed = DoomsLinear(D_IN, d_hidden)
        make = (
            (lambda: DoomsMLP(d_hidden, 2 * d_hidden, bias))
            if mlp
            else (lambda: DoomsBilinear(d_hidden, d_hidden, bias=bias, gate=gate))
        )
        self.blocks = nn.ModuleList(make() for _ in range(n_layer))
        self.head = DoomsLinear(d_hidden, CLASSES)
        self.residual = residual

    def forward(self, x):
        x = self.embed(x.flatten(start_dim=1))
        for layer in self.blocks:
            x = x + layer(x) if self.residual else layer(x)
        return self.head(x)


# ---------------------------------------------------------------------------------------
# J0YY/x-vla (models/dooms_xnet.py, nn/bilinear.py, nn/normalization.py), re-created
# ---------------------------------------------------------------------------------------
class RmsBatchNorm(nn.Module):
    """A scalar running RMS, frozen at inference: ``x / (running_rms + eps)``."""

    def __init__(self, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.register_buffer("running_rms", torch.tensor(1.0 + torch.rand(()).item()))

    def forward(self, x):
        return x / (self.running_rms.to(x.dtype) + self.eps)


class DirectBilinearLayer(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.left = nn.Linear(dim, dim, bias=True)
        self.right = nn.Linear(dim, dim, bias=True)
        nn.init.normal_(self.left.weight, std=dim**-0.5)
        nn.init.normal_(self.right.weight, std=dim**-0.5)

    def forward(self, x):
        return self.left(x) * self.right(x)


class BilinearFFN(nn.Module):
    def __init__(self, dim, rank):
        super().__init__()
        self.left = nn.Linear(dim, rank, bias=True)
        self.right = nn.Linear(dim, rank, bias=True)
        self.down = nn.Linear(rank, dim, bias=False)

    def forward(self, x):
        return self.down(self.left(x) * self.right(x))


class XvlaChiNet(nn.Module):
    """embed → (norm → direct layer) × n → head, returning ``(logits, loss)``."""

    def __init__(self, dim=WIDTH, n_layers=2, ffn=False):
        super().__init__()
        self.embed = nn.Linear(D_IN, dim)
        self.norms = nn.ModuleList(RmsBatchNorm() for _ in range(n_layers))
        make = (lambda: BilinearFFN(dim, 3 * dim)) if ffn else (lambda: DirectBilinearLayer(dim))
        self.layers = nn.ModuleList(make() for _ in range(n_layers))
        self.head = nn.Linear(dim, CLASSES)
        self.ffn = ffn

    def forward(self, x, targets=None):
        hidden = self.embed(x.flatten(1))
        for norm, layer in zip(self.norms, self.layers):
            hidden = hidden + layer(norm(hidden)) if self.ffn else layer(norm(hidden))
        logits = self.head(hidden)
        return logits, None if targets is None else F.cross_entropy(logits, targets)


def inputs(n=16, seed=1):
    return torch.randn(n, D_IN, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def logits_of(model, x):
    out = model.double().eval()(x)
    return out[0] if isinstance(out, tuple) else out


# ---------------------------------------------------------------------------------------
# Imports that must pass
# ---------------------------------------------------------------------------------------
IMPORTABLE = {
    "residual, biases, hidden 8/12/5": (lambda: Stack(residual=True), True),
    "direct, biases": (lambda: Stack(residual=False), False),
    "one-layer bias-free MLP": (OneLayer, False),
    "residual, nn.RMSNorm": (lambda: Stack(residual=True, norm=rmsnorm, bias=False), True),
    "tdooms direct": (lambda: DoomsModel(residual=False), False),
    "tdooms residual with biases": (lambda: DoomsModel(residual=True, bias=True), True),
    "tdooms residual MLP blocks": (lambda: DoomsModel(residual=True, mlp=True), True),
    "x-vla direct, frozen scalar norm": (lambda: XvlaChiNet(), False),
    "x-vla residual BilinearFFN": (lambda: XvlaChiNet(ffn=True), True),
}


@pytest.mark.parametrize("name", list(IMPORTABLE))
def test_from_module_imports_and_checks(name):
    factory, residual = IMPORTABLE[name]
    model = seeded(factory)
    net = from_module(model)
    assert net.meta["residual"] is residual
    assert net.meta["check"]["max_abs_diff"] < 1e-10
    x = inputs()
    torch.testing.assert_close(net(x), logits_of(model, x), rtol=1e-10, atol=1e-10)
    # the whole chain applies
    dec = xl.odt(net)
    torch.testing.assert_close(dec.network(x), net(x), rtol=1e-8, atol=1e-8)


def test_from_module_with_a_declarative_layout():
    model = seeded(lambda: Stack(residual=True))
    layout = {
        "embed": "embed",
        "head": "head",
        "blocks": [
            {"left": f"blocks.{i}.left", "right": f"blocks.{i}.right", "down": f"blocks.{i}.down"}
            for i in range(3)
        ],
    }
    net = from_module(model, layout, residual=True)
    assert net.meta["check"]["max_abs_diff"] < 1e-12
    assert [layer.n_hidden - WIDTH - 1 for layer in net.layers] == [8, 12, 5]
    with pytest.raises(ValueError, match="not a submodule"):
        from_module(model, dict(layout, head="nohead"))


def test_recognise_reads_the_repositories_layouts():
    plan = recognise(seeded(lambda: DoomsModel(mlp=True)))
    assert (plan.embed, plan.head) == ("embed", "head")
    assert [(b.left, b.right, b.down) for b in plan.blocks] == [
        (f"blocks.{i}.w:0", f"blocks.{i}.w:1", f"blocks.{i}.p") for i in range(2)
    ]
    plan = recognise(seeded(lambda: XvlaChiNet()))
    assert [b.norm for b in plan.blocks] == ["norms.0", "norms.1"]
    assert recognise(OneLayer()).embed is None


def test_the_one_layer_identity_gram_eigenvalues_are_squared_q_eigenvalues():
    net = from_module(seeded(OneLayer))
    dec = xl.odt(net)
    ce = xl.class_eigenvectors(dec, k=3)
    q = xl.quadratic_forms(net)
    for c in range(CLASSES):
        sq = torch.linalg.eigvalsh(q[c]).square().sort(descending=True).values[:3]
        torch.testing.assert_close(ce.values[c], sq, rtol=1e-9, atol=1e-12)


def test_xnet_goes_through_to_network_and_is_checked():
    model = seeded(lambda: xl.XNet(d_input=D_IN, d_model=6, n_classes=3, n_layers=2))
    net = from_module(model)
    assert net.meta["check"]["max_abs_diff"] < 1e-12


# ---------------------------------------------------------------------------------------
# Imports that must be refused, with their cause
# ---------------------------------------------------------------------------------------
def test_a_relu_module_is_refused_by_name():
    with pytest.raises(ValueError, match="ReLU.*not a polynomial"):
        from_module(seeded(lambda: Stack(act=nn.ReLU())))


def test_a_functional_relu_is_refused_as_a_nonlinearity():
    with pytest.raises(ImportCheckError, match="Likely cause: a nonlinearity"):
        from_module(seeded(lambda: Stack(act=torch.relu)))


def test_a_relu_is_named_even_when_the_inputs_keep_its_signs():
    """The diagnosis looks along lines through the first sample inputs. Between bright images
    alike (all pixels positive, positive left weights) a ReLU on ``L x`` never switches, so
    the module is a polynomial on every line joining two of them; the line from an input to
    its negative crosses the kinks."""

    class ReluOnLeft(nn.Module):
        def __init__(self):
            super().__init__()
            self.left, self.right = nn.Linear(D_IN, 5), nn.Linear(D_IN, 5)
            self.head = nn.Linear(5, CLASSES)

        def forward(self, x):
            return self.head(torch.relu(self.left(x)) * self.right(x))

    model = seeded(ReluOnLeft)
    with torch.no_grad():
        model.left.weight.abs_()
        model.left.bias.fill_(0.1)
    bright = torch.rand(16, D_IN, generator=torch.Generator().manual_seed(0)) + 0.5
    inputs = torch.cat([bright[:8], -bright[8:]])  # the first 8 bright, the rest dark
    assert (model.left(inputs[:8]) > 0).all()  # the ReLU is the identity on the first 8
    with pytest.raises(ImportCheckError, match="Likely cause: a nonlinearity"):
        from_module(model, inputs=inputs)


def test_a_gated_tdooms_layer_is_refused():
    with pytest.raises(ValueError, match="gate"):
        from_module(seeded(lambda: DoomsModel(gate="relu")))


def test_a_wrong_residual_flag_is_refused_with_the_right_one():
    with pytest.raises(ImportCheckError, match="wrong residual flag.*residual=True"):
        from_module(seeded(lambda: Stack(residual=True)), residual=False)
    with pytest.raises(ImportCheckError, match="wrong residual flag.*residual=False"):
        from_module(seeded(lambda: Stack(residual=False)), residual=True)


def factors_of(model: Stack, **drop):
    blocks = [
        dict(
            left=b.left.weight,
            right=b.right.weight,
            down=b.down.weight,
            left_bias=b.left.bias,
            right_bias=b.right.bias,
            down_bias=b.down.bias,
        )
        for b in model.blocks
    ]
    kw = dict(
        embed_weight=model.embed.weight,
        embed_bias=model.embed.bias,
        blocks=blocks,
        head_weight=model.head.weight,
        head_bias=model.head.bias,
    )
    kw.update(drop)
    return kw


def test_from_factors_check_passes_and_names_a_missing_bias_and_a_wrong_flag():
    model = seeded(lambda: Stack(residual=True))
    x = inputs()
    net = from_factors(**factors_of(model), residual=True, check=(model, x))
    assert net.meta["check"]["max_abs_diff"] < 1e-12
    with pytest.raises(ImportCheckError, match="missing bias"):
        from_factors(**factors_of(model, head_bias=None), residual=True, check=(model, x))
    with pytest.raises(ImportCheckError, match="wrong residual flag"):
        from_factors(**factors_of(model), residual=False, check=model)


def test_from_factors_takes_norms():
    model = seeded(lambda: XvlaChiNet())
    blocks = [(b.left.weight, b.right.weight) for b in model.layers]
    blocks = [
        dict(
            left=b.left.weight, right=b.right.weight, left_bias=b.left.bias, right_bias=b.right.bias
        )
        for b in model.layers
    ]
    norms = [float(n.running_rms) + n.eps for n in model.norms]
    kw = dict(embed_bias=model.embed.bias, head_bias=model.head.bias)
    net = from_factors(
        model.embed.weight, blocks=blocks, head_weight=model.head.weight, norms=norms, **kw
    )
    x = inputs()
    torch.testing.assert_close(net(x), logits_of(model, x), rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="norms has 1 entries for 2 blocks"):
        from_factors(model.embed.weight, blocks=blocks, head_weight=model.head.weight, norms=[1.0])
    with pytest.raises(ValueError, match="norms\\[0\\] must be"):
        from_factors(
            model.embed.weight, blocks=blocks, head_weight=model.head.weight, norms=[-1, None]
        )


# ---------------------------------------------------------------------------------------
# "What the trial hit", row by row
# ---------------------------------------------------------------------------------------
def test_no_embedding_means_identity():
    torch.manual_seed(0)
    L, R, H = torch.randn(5, 7), torch.randn(5, 7), torch.randn(3, 5)
    net = from_factors(None, blocks=[(L, R)], head_weight=H)
    x = torch.randn(4, 7, dtype=torch.float64)
    torch.testing.assert_close(net(x), (x @ L.T.double()) * (x @ R.T.double()) @ H.T.double())


def test_odt_of_a_module_points_to_from_module():
    with pytest.raises(TypeError, match="from_module"):
        xl.odt(seeded(OneLayer))


def test_logit_degrees_takes_a_decomposition_and_blames_no_relu():
    net = from_module(seeded(lambda: Stack(residual=False, hidden=(4,))))
    dec = xl.odt(net)
    a, b = xl.logit_degrees(dec, inputs()), xl.logit_degrees(net, inputs())
    torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-8)
    with pytest.raises(TypeError, match="from_module"):
        xl.logit_degrees(seeded(OneLayer), inputs())


def test_class_eigenvectors_of_a_network_says_to_decompose():
    net = from_module(seeded(OneLayer))
    with pytest.raises(TypeError, match="expects a Decomposition.*odt"):
        xl.class_eigenvectors(net)


def test_a_bias_of_the_wrong_length_is_named():
    model = seeded(lambda: Stack())
    bad = factors_of(model)
    bad["blocks"][1]["left_bias"] = torch.zeros(3)
    with pytest.raises(ValueError, match=r"blocks\[1\]\['left_bias'\] must have shape \(12,\)"):
        from_factors(**bad)
    with pytest.raises(ValueError, match=r"embed_bias must have shape \(6,\)"):
        from_factors(**factors_of(model, embed_bias=torch.zeros(5)))
    with pytest.raises(ValueError, match=r"head_bias must have shape \(4,\)"):
        from_factors(**factors_of(model, head_bias=torch.zeros(6)))


def test_a_transposed_embedding_or_head_is_named():
    model = seeded(lambda: Stack())
    with pytest.raises(ValueError, match=r"embed_weight.*transposed, pass embed_weight\.T"):
        from_factors(**factors_of(model, embed_weight=model.embed.weight.T))
    with pytest.raises(ValueError, match=r"head_weight.*transposed, pass head_weight\.T"):
        from_factors(**factors_of(model, head_weight=model.head.weight.T))


def test_a_linear_module_passed_as_a_tensor_is_named():
    model = seeded(lambda: Stack())
    with pytest.raises(TypeError, match=r"embed_weight must be a tensor.*\.weight.*from_module"):
        from_factors(**factors_of(model, embed_weight=model.embed))
    bad = factors_of(model)
    bad["blocks"][0]["down"] = model.blocks[0].down
    with pytest.raises(TypeError, match=r"blocks\[0\]\['down'\] must be a tensor"):
        from_factors(**bad)


def test_network_and_decomposition_to_behave_like_torch():
    net = from_module(seeded(OneLayer))
    assert net.to(torch.float32).dtype == torch.float32
    assert net.to("cpu", torch.float32).dtype == torch.float32
    assert net.to(torch.zeros(1, dtype=torch.float32)).dtype == torch.float32
    assert net.to(dtype=torch.float32, device="cpu").dtype == torch.float32
    assert net.to(torch.float64) is net
    dec = xl.odt(net).to(torch.float32)
    assert dec.dtype == dec.network.dtype == dec.spectra[0].dtype == torch.float32
    with pytest.raises(TypeError, match="to\\(\\) takes a dtype"):
        net.to(3.5)


def test_a_single_input_vector():
    net = from_module(seeded(OneLayer))
    x = inputs()
    torch.testing.assert_close(net(x[0]), net(x)[0])
    model = seeded(lambda: xl.XNet(d_input=D_IN, d_model=6, n_classes=3, n_layers=1))
    with pytest.raises(ValueError, match=r"x\[None\]"):
        model(torch.randn(D_IN))
    with pytest.raises(ValueError, match="does not fit") as err:
        model(torch.randn(3, D_IN + 1))
    assert "SVHN" not in str(err.value)


@pytest.mark.parametrize("rank", [np.int64(2), torch.tensor(2), [np.int32(2)] * 2])
def test_integer_like_ranks(rank):
    dec = xl.odt(from_module(seeded(OneLayer)))
    assert dec.truncate(rank).widths == [3, 3]
    with pytest.raises(TypeError, match="must be an int"):
        dec.truncate(2.0)


def test_truncate_and_diagonalise_refuse_an_undecomposed_network():
    net = from_module(seeded(lambda: Stack(hidden=(4,))))
    with pytest.raises(ValueError, match="not decomposed.*odt\\(net\\)\\.truncate"):
        truncate(net, 2)
    with pytest.raises(ValueError, match="orthogonalise\\(net\\) first"):
        diagonalise(net)
    diag = diagonalise(orthogonalise(net))[0]
    assert truncate(diag, 2).widths == [3, 3]
    assert truncate(xl.odt(net), 2).widths == [3, 3]


def test_non_image_inputs_are_vectors():
    dec = xl.odt(from_module(seeded(OneLayer)))  # 20 inputs: not a square
    for shape in (None, (20,), 20):
        ce = xl.class_eigenvectors(dec, k=3, image_shape=shape)
        assert ce.images.shape == (CLASSES, 3, 20)
    assert xl.class_eigenvectors(dec, k=3, image_shape=(4, 5)).images.shape == (CLASSES, 3, 4, 5)
    with pytest.raises(ValueError, match="has 21 entries"):
        xl.class_eigenvectors(dec, image_shape=(3, 7))
    tree = xl.compositional_tree(dec)  # rank 15 on wires of 10 directions: clipped
    assert tree.ranks == [min(15, w - 1) for w in dec.widths] != [15] * len(dec.widths)
    assert tree.features.shape[1:] == (20,)
    with pytest.raises(ValueError, match="out of range"):
        xl.compositional_tree(dec, rank=[15, 15])


def test_save_and_load_round_trips_bit_exact(tmp_path):
    net = from_module(seeded(lambda: Stack()))
    dec = xl.odt(net)
    small = dec.truncate(3)
    module = xl.to_module(small)
    x = inputs()
    for obj in (net, dec, small, module):
        path = tmp_path / "kept.pt"
        xl.save(obj, path)
        raw = torch.load(path, weights_only=True)  # torch's safe default reads it
        assert isinstance(raw, dict) and raw["format"].startswith("xnets-lite/")
        again = xl.load(path)
        assert type(again) is type(obj)
        assert torch.equal(
            again(x) if not hasattr(again, "network") else again.network(x),
            obj(x) if not hasattr(obj, "network") else obj.network(x),
        )
    again = xl.load(tmp_path / "kept.pt")
    for a, b in zip(again.state_dict().values(), module.state_dict().values()):
        assert torch.equal(a, b)
    back = xl.Decomposition.from_state_dict(dec.state_dict())
    for a, b in zip(back.spectra + back.importance, dec.spectra + dec.importance):
        assert torch.equal(a, b)
    assert back.source is not None and back.network.meta == net.meta | back.network.meta
    rebuilt = type(module).from_state_dict(module.state_dict())
    assert torch.equal(rebuilt(x), module(x))
    buffer = io.BytesIO()
    torch.save(dec.state_dict(), buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True)["format"] == "xnets-lite/decomposition/1"
    # the wrong state for a reader: one message that names it, the format and the way out
    with pytest.raises(
        ValueError,
        match=r"Network.from_state_dict expects a saved network "
        r"\(format 'xnets-lite/network/1'\), got 'xnets-lite/decomposition/1'",
    ):
        xl.Network.from_state_dict(dec.state_dict())
    with pytest.raises(ValueError, match=r"saved decomposition .* got 'list'; saving.load"):
        xl.Decomposition.from_state_dict([1, 2])
    with pytest.raises(TypeError, match="save keeps"):
        xl.save(seeded(OneLayer), tmp_path / "model.pt")


def test_reprs_are_short_and_say_widths_dtype_device():
    net = from_module(seeded(lambda: Stack()))
    dec = xl.odt(net)
    ce = xl.class_eigenvectors(dec, k=2)
    tree = xl.compositional_tree(dec, rank=3)
    module = xl.to_module(dec.truncate(3))
    for obj in (net, dec, ce, tree, module):
        text = repr(obj)
        assert len(text) < 400, text
        assert "float64" in text
    assert "widths=[7, 7, 7, 7]" in repr(net) and "device=cpu" in repr(net)
    assert "ranks_for(0.99)" in repr(dec)


def test_the_public_surface():
    for name in ("from_module", "quadratic_forms", "save", "load"):
        assert name in xl.__all__
    from importlib.resources import files

    assert files("xnets_lite").joinpath("py.typed").is_file()


def test_trace_class_steps_use_the_course_wire_names():
    dec = xl.odt(from_module(seeded(lambda: Stack(residual=False, hidden=(8, 12)))))
    tree = xl.compositional_tree(dec, rank=4)
    steps = xl.trace_class(tree, 1, top=2)
    top = steps[0]
    assert top.layer == 2 and top.output == "class 1"
    assert all(a == "const" or a.startswith("w1.d") for a, b, _ in top.pairs)
    below = steps[1:]
    assert below and all(s.layer == 1 and s.output.startswith("w1.d") for s in below)
    assert all(a == "const" or a.startswith("w0.d") for s in below for a, _, _ in s.pairs)
    # the former dict access still works (widgets use it)
    assert top["layer"] == 1 and top["output"] == "class 1" and top["pairs"] == top.indices
    assert below[0]["output"] == int(below[0].output.split(".d")[1])
    assert "layer 2: class 1 ←" in str(top)


def test_effective_dimensions_and_ranks_for_say_what_they_count():
    doc = xl.Decomposition.effective_dimensions.__doc__
    assert "included" in doc and "ranks_for" in doc


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_to_and_save_on_cuda(tmp_path):
    model = seeded(lambda: Stack()).cuda()
    net = from_module(model, device="cuda")  # the check runs on a float64 CPU copy
    assert net.device.type == "cuda"
    dec = xl.odt(net).to("cuda")
    assert dec.to("cpu").network.device.type == "cpu" and dec.to("cpu").spectra[0].is_cuda is False
    xl.save(dec, tmp_path / "dec.pt")
    again = xl.load(tmp_path / "dec.pt", map_location="cpu")
    assert torch.equal(again.network.head, dec.network.head.cpu())
    assert net.to(torch.float32).to("cpu").dtype == torch.float32


def test_layout_errors_name_the_fix():
    class Three(nn.Module):  # three linear maps outside any block: which is the head?
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(D_IN, 6), nn.Linear(6, 6)
            self.blocks = nn.ModuleList([Block(6, 4)])
            self.c = nn.Linear(6, CLASSES)

        def forward(self, x):
            return self.c(self.blocks[0](self.b(self.a(x))))

    with pytest.raises(ValueError, match="cannot tell the embedding and the head apart.*layout="):
        from_module(Three())
    with pytest.raises(ValueError, match="found no bilinear block"):
        from_module(nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)))
    with pytest.raises(TypeError, match="from_module expects an nn.Module"):
        from_module(torch.zeros(3))
    with pytest.raises(ValueError, match="layout\\['blocks'\\]\\[0\\] must be a dict"):
        from_module(Three(), {"blocks": [{"left": "a"}], "head": "c"})
    three = Three()
    layout = {
        "embed": "a",
        "blocks": [
            {"left": "b", "right": "b"},
            {"left": "blocks.0.left", "right": "blocks.0.right"},
        ],
        "head": "c",
    }
    with pytest.raises(ValueError, match="do not chain: head_weight"):
        from_module(three, layout)  # without its D the second block ends on 4 coordinates
    layout["blocks"][1]["down"] = "blocks.0.down"
    with pytest.raises(ImportCheckError, match="Likely cause"):
        from_module(three, layout)  # b is linear, not a bilinear block: the check says no


def test_without_the_check_the_residual_flag_must_be_given():
    model = seeded(lambda: Stack(residual=True))
    with pytest.raises(ValueError, match="check=False pass residual"):
        from_module(model, check=False)
    net = from_module(model, check=False, residual=True)
    assert "check" not in net.meta
    torch.testing.assert_close(net(inputs()), logits_of(model, inputs()))
    assert net.to(torch.float32, non_blocking=True).dtype == torch.float32
