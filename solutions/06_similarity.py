# Solutions to the exercises of notebooks/06_similarity.ipynb.
#
# One "# %% <exercise name>" section per exercise: the code that replaces the exercise's stub
# cell (`exercises.fill_solutions`). Each section runs in the notebook, after its cells:
# `torch`, `models` and `seeds` come from there.
# ruff: noqa: F821, E402  (sections are notebook cells: names from the notebook, imports per cell)

# %% 06.template_cosine
from xnets_lite.core.network import to_network


def template_cosine(model_a, model_b):
    def template(model):
        net = to_network(model)  # float64, the same function
        zero = torch.zeros(net.d_input, dtype=torch.float64)
        return torch.autograd.functional.jacobian(lambda x: net(x[None])[0], zero)  # (C, d)

    ga, gb = template(model_a).flatten(), template(model_b).flatten()
    return float(ga @ gb / (ga.norm() * gb.norm()))


# %% 06.cross_gram_step
def cross_step(layer_a, layer_b, G):
    lgl = layer_a.left @ G @ layer_b.left.T
    rgr = layer_a.right @ G @ layer_b.right.T
    lgr = layer_a.left @ G @ layer_b.right.T
    rgl = layer_a.right @ G @ layer_b.left.T
    return 0.5 * layer_a.down @ (lgl * rgr + lgr * rgl) @ layer_b.down.T


# %% 06.degrees_by_scaling
from xnets_lite.analysis.similarity import cross_grams


def degrees_by_scaling(net_a, net_b):
    n = net_a.n_copies + 1  # degrees 0 … 2^L

    def total(s):  # ⟨T_a(s), T_b(s)⟩ = Σ_d s^(2d) ⟨T_a,d, T_b,d⟩
        scaled = []
        for net in (net_a, net_b):
            embed = net.embed.clone()
            embed[:, 1:] *= s
            scaled.append(net.replace(embed=embed))
        gram = cross_grams(*scaled, graded=False)[-1][0]
        return (scaled[0].head[1:] @ gram * scaled[1].head[1:]).sum()

    s = torch.linspace(0.5, 1.5, n, dtype=torch.float64)
    values = torch.stack([total(float(v)) for v in s])
    vandermonde = (s**2)[:, None] ** torch.arange(n, dtype=torch.float64)
    return torch.linalg.solve(vandermonde, values)
