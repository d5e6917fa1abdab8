# Solutions to the exercises of notebooks/04_tree.ipynb.
#
# One "# %% <exercise name>" section per exercise: the code that replaces the exercise's stub
# cell (`exercises.fill_solutions`). Each section runs in the notebook, after its cells:
# `torch` comes from there.
# ruff: noqa: F821, E402  (sections are notebook cells: names from the notebook, imports per cell)

# %% 04.carry_weight
# x_i · 1 over two copies of an orthonormal wire is the symmetric tensor ½(e_i⊗e₀ + e₀⊗e_i),
# of norm 1/√2. Orthogonalising gives the output direction norm 1: coefficient √2, so the
# entries (0, i) and (i, 0) are √2/2 each and the tree, which adds them, shows ±√2.
carry = 2**0.5


# %% 04.products_vs_linear
def products_vs_linear(net, x):
    ratios = []
    for layer, w in zip(net.layers, net.wires(x)):
        c = torch.zeros_like(w)
        c[:, 0] = w[:, 0]  # the constant part of the wire
        r = w - c  # its directions

        def f(a, b, layer=layer):
            return ((a @ layer.left.T) * (b @ layer.right.T)) @ layer.down.T

        linear, products = (f(c, r) + f(r, c))[:, 1:], f(r, r)[:, 1:]
        ratios.append((products.norm(dim=1) / linear.norm(dim=1)).mean().item())
    return ratios


# %% 04.degree_one_part
def degree_one_part(net):
    zero = torch.zeros(net.d_input, dtype=torch.float64)

    def f(x):
        return net(x[None])[0]

    return torch.autograd.functional.jacobian(f, zero), f(zero)
