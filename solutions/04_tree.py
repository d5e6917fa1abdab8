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


# %% 04.split_layer
def split_layer(layer, w):
    const = torch.zeros_like(w)
    const[:, 0] = w[:, 0]  # w₀e₀, the constant part of the wire
    rest = w - const  # w_r, its directions

    def bil(a, b):  # D(La ⊙ Rb) on rows
        return ((a @ layer.left.T) * (b @ layer.right.T)) @ layer.down.T

    return bil(const, const), bil(const, rest) + bil(rest, const), bil(rest, rest)


# %% 04.degree_one_part
def degree_one_part(net):
    zero = torch.zeros(net.d_input, dtype=torch.float64)

    def f(x):
        return net(x[None])[0]

    return torch.autograd.functional.jacobian(f, zero), f(zero)
