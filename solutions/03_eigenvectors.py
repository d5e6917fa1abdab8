# Solutions to the exercises of notebooks/03_eigenvectors.ipynb.
#
# One "# %% <exercise name>" section per exercise: the code that replaces the exercise's stub
# cell (`exercises.fill_solutions`). Each section runs in the notebook, after its cells:
# `torch` comes from there.
# ruff: noqa: F821, E402  (sections are notebook cells: names from the notebook, imports per cell)

# %% 03.cosine_with_linear_template
from xnets_lite.analysis.interpret import class_eigenvectors
from xnets_lite.core.network import to_network


def linear_template(model):
    """(C, d): row c is ∇ₓ logit_c at x = 0, in float64 (the network form is float64)."""
    net = to_network(model)
    zero = torch.zeros(net.d_input, dtype=torch.float64)
    return torch.autograd.functional.jacobian(lambda x: net(x[None])[0], zero)


def template_cosines(model, dec):
    v = class_eigenvectors(dec, k=1).vectors[:, 0]
    g = linear_template(model)
    return ((v * g).sum(1) / (v.norm(dim=1) * g.norm(dim=1))).abs()  # the sign is arbitrary


# %% 03.resign_by_logit
def resign(model, vectors):
    g = linear_template(model)  # from exercise 1
    sign = torch.where((vectors * g).sum(1) < 0, -1.0, 1.0)
    return vectors * sign[:, None]


# %% 03.signed_interactions
def interaction_matrix(model, c):
    """logit_c = H[1+c] · D(L w ⊙ R w), w = E x̃  ⇒  x̃ᵀ Eᵀ Lᵀ diag(a) R E x̃, a = Dᵀ H[1+c]."""
    net = to_network(model)
    E, layer, H = net.embed, net.layers[0], net.head
    a = layer.down.T @ H[1 + c]  # weight of each product for logit c
    Q = E.T @ layer.left.T @ (a[:, None] * layer.right) @ E
    return (Q + Q.T) / 2  # the same quadratic form, symmetric
