# Solutions to the exercises of notebooks/01_training.ipynb.
#
# One "# %% <exercise name>" section per exercise: the code that replaces the exercise's stub
# cell (`exercises.fill_solutions`). Each section runs in the notebook, after its cells:
# `run` comes from there.
# ruff: noqa: F821, E402  (sections are notebook cells: names from the notebook, imports per cell)

# %% 01.parameter_counts
def parameter_count(kind, d_input, width, n_classes, n_layers):
    """Embedding + head + n_layers blocks; nn.Linear(a, b) has a·b weights and b biases."""

    def linear(a, b, bias=True):
        return a * b + (b if bias else 0)

    ends = linear(d_input, width) + linear(width, n_classes)
    block = {
        "xnet": 3 * linear(width, width),  # L, R, D
        "xnet-rms": 2 * linear(width, width, bias=False) + linear(width, width),
        "xnet-direct": 2 * linear(width, width),  # A, B (the norm: buffers)
        "mlp": 2 * linear(width, width),
    }[kind]  # W₁, W₂
    return ends + n_layers * block


# %% 01.affine_baseline
affine, _ = run.model(run.main, n_layers=0)  # trained with the recipe (or loaded)
