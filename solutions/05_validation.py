# Solutions to the exercises of notebooks/05_validation.ipynb.
#
# One "# %% <exercise name>" section per exercise: the code that replaces the exercise's stub
# cell (`exercises.fill_solutions`). Each section runs in the notebook, after its cells:
# `torch`, `run`, `model`, `dec`, `test_data` and `alphas` come from there.
# ruff: noqa: F821, E402  (sections are notebook cells: names from the notebook, imports per cell)

# %% 05.template_and_mean_controls
from xnets_lite.core.network import to_network


def control_directions(model, data):
    net = to_network(model)  # float64, the same function
    zero = torch.zeros(net.d_input, dtype=torch.float64)
    template = torch.autograd.functional.jacobian(lambda x: net(x[None])[0], zero)
    x, y = data[0 : len(data)]
    means = torch.stack([x[y == c].mean(0) for c in range(data.n_classes)])
    return {"template": template, "class mean": means - x.mean(0)}


# %% 05.steer_with_class_mean
from xnets_lite.analysis.validation import steering

means = control_directions(model, test_data)["class mean"]  # exercise 1
steer_mean = steering(model, test_data, means, alphas, seed=run.seed, max_images=2000)

# %% 05.largest_rest
from xnets_lite.analysis.validation import explain_image


def rest_share(expl):
    rest = sum(abs(s["rest"]) for s in expl.steps)
    named = sum(abs(p[2]) for s in expl.steps for p in s["pairs"])
    return rest / (rest + named)


xs, ys = test_data[0:500]
shares = [
    rest_share(explain_image(dec, x.double(), int(y), top=3, image_shape=test_data.image_shape))
    for x, y in zip(xs, ys)
]
worst = max(range(len(shares)), key=shares.__getitem__)
