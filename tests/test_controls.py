"""The fair controls of notebook 05's ablation (``analysis.controls``) and mean replacement
(``validation.ablation_matrix(mode="mean")``), on inputs whose answers are known."""

import pytest
import torch

from helpers import U1, U2, V, assert_close, hand_built, random_inputs, random_xnet, toy_data
from xnets_lite.analysis.controls import (
    discriminant_directions,
    energy_matched_random_directions,
    gradient_covariance,
    gradient_covariance_directions,
    projection_energy,
)
from xnets_lite.analysis.validation import ablation_matrix, orthonormalise, project_out


def eye(k):
    return torch.eye(k, dtype=torch.float64)


def cosine(a, b):
    return float(a @ b / (a.norm() * b.norm()))


# ---------------------------------------------------------------------------------------
# Gradient covariance
# ---------------------------------------------------------------------------------------
def test_gradient_covariance_of_a_linear_model_is_its_template_outer_product():
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 3).double()
    x = random_inputs(50, 6, seed=1)
    cov, mean = gradient_covariance(model, x, batch_size=7)
    w = model.weight.detach()
    assert_close(cov, torch.einsum("ci,cj->cij", w, w))  # rank one: w_c w_cᵀ
    assert_close(mean, w)
    v = gradient_covariance_directions(model, x, 1)
    assert_close(v[:, 0], w / w.norm(dim=1, keepdim=True))  # signed to raise the logit


def test_gradient_covariance_of_the_hand_built_model_finds_each_class_direction():
    # logit_0 = (V·x)² − 1: ∇ = 2 (V·x) V, covariance 4 E[(V·x)²] V Vᵀ; logit_1,2 = U1·x, U2·x
    model, data = hand_built(), toy_data()
    x = data[0 : len(data)][0].double()
    v = gradient_covariance_directions(model, x, 3, n_classes=3)
    assert v.shape == (3, 3, 16)
    for c, u in enumerate((V, U1, U2)):
        assert cosine(v[c, 0], u) > 1 - 1e-9  # the rank-one vector, signed up the logit
        assert_close(v[c] @ v[c].T, eye(3))
    cov, _ = gradient_covariance(model, x)
    assert_close(cov[0], 4 * (x @ V).square().mean() * torch.outer(V, V))


def test_gradient_covariance_matches_a_per_image_loop():
    model = random_xnet(5, 4, 3, 3, n_layers=2, seed=2)
    x = random_inputs(9, 5, seed=3)
    cov, _ = gradient_covariance(model, x, batch_size=4)
    expected = torch.zeros(3, 5, 5, dtype=torch.float64)
    for xi in x:
        jac = torch.autograd.functional.jacobian(lambda z: model(z[None])[0], xi)  # (C, d)
        expected += torch.einsum("ci,cj->cij", jac, jac) / len(x)
    assert_close(cov, expected)
    with pytest.raises(ValueError, match="n_classes"):
        gradient_covariance_directions(model, x, 2, n_classes=4)


# ---------------------------------------------------------------------------------------
# Discriminants
# ---------------------------------------------------------------------------------------
def two_gaussians(n=20000, seed=0):
    """Two classes, shared anisotropic covariance Σ = A Aᵀ, means μ₀ and μ₁ = 0."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.tensor([[2.0, 0.5, 0.0, 0.0], [0.0, 1.0, 0.3, 0.0], [0.0, 0.0, 0.5, 0.2]])
    a = torch.cat([a, torch.tensor([[0.1, 0.0, 0.0, 1.5]])]).double()
    y = torch.arange(n) % 2
    mu0 = torch.tensor([1.0, -1.0, 0.5, 0.0], dtype=torch.float64)
    x = torch.randn(n, 4, generator=gen, dtype=torch.float64) @ a.T + (y == 0)[:, None] * mu0
    return x, y, a @ a.T, mu0


def test_the_first_discriminant_is_fishers_direction():
    x, y, sigma, mu0 = two_gaussians()
    w = discriminant_directions(x, y, 1, ridge=0.0)
    lda = torch.linalg.solve(sigma, mu0)  # Σ⁻¹(μ₀ − μ₁)
    assert cosine(w[0, 0], lda) > 0.999
    assert cosine(w[1, 0], -lda) > 0.999  # class 1 against the rest = against class 0


def test_later_discriminants_are_fisher_directions_after_ablating_the_earlier():
    x, y, _, _ = two_gaussians(4000, seed=1)
    x = torch.cat([x, random_inputs(4000, 2, seed=2)], 1)  # d = 6
    ridge = 0.1
    w = discriminant_directions(x, y, 3, ridge=ridge)
    assert_close(w @ w.mT, eye(3).expand(2, 3, 3))  # orthonormal, per class
    # Fisher's direction, same λ, of the images with w₁ (then w₁, w₂) projected out
    lam = ridge * float(torch.cov(x.T, correction=0).diagonal().mean())
    for j in (1, 2):
        xp = project_out(x, w[0, :j])
        delta = xp[y == 0].mean(0) - xp[y == 1].mean(0)
        within = sum(
            (y == c).double().mean() * torch.cov(xp[y == c].T, correction=0) for c in (0, 1)
        )
        fisher = torch.linalg.solve(within + lam * eye(6), delta)
        assert cosine(w[0, j], fisher) > 1 - 1e-9
        assert float(w[0, j] @ delta) > 0  # signed towards the class


# ---------------------------------------------------------------------------------------
# Energy-matched random directions
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("centred", [False, True])
def test_energy_matched_random_directions_carry_the_readings_energy(centred):
    gen = torch.Generator().manual_seed(0)
    scales = torch.logspace(1, -2, 12, dtype=torch.float64)
    x = torch.randn(500, 12, generator=gen, dtype=torch.float64) * scales + 0.3
    mean = x.mean(0) if centred else None
    low = torch.cat([torch.zeros(3, 6, dtype=torch.float64), random_inputs(3, 6, seed=3)], 1)
    reference = torch.stack(  # a high-energy reading, a low-energy one, a mixed one
        [eye(12)[:3], orthonormalise(low), orthonormalise(random_inputs(3, 12, seed=4))]
    )
    r = energy_matched_random_directions(reference, x, mean, seed=1)
    assert r.shape == (3, 3, 12)
    assert_close(r @ r.mT, eye(3).expand(3, 3, 3))
    target = projection_energy(reference, x, mean)  # (C, K), cumulative over k
    assert torch.allclose(projection_energy(r, x, mean), target, rtol=1e-6)
    assert torch.equal(r, energy_matched_random_directions(reference, x, mean, seed=1))
    assert (r * reference).sum(-1).abs().max() < 0.999  # not the reading itself
    plain = torch.linalg.qr(torch.randn(12, 3, generator=gen, dtype=torch.float64)).Q.T
    assert projection_energy(plain[None], x, mean)[0, 0] < target[0, 0] / 10  # why it matters


def test_projection_energy_is_the_energy_an_ablation_removes():
    x = random_inputs(40, 8, seed=5)
    dirs = random_inputs(6, 8, seed=6).reshape(2, 3, 8)
    energy = projection_energy(dirs, x)
    for c in range(2):
        for k in (1, 2, 3):
            removed = x - project_out(x, orthonormalise(dirs[c, :k]))
            assert_close(energy[c, k - 1], removed.square().sum(1).mean())


# ---------------------------------------------------------------------------------------
# Mean replacement
# ---------------------------------------------------------------------------------------
def test_mean_replacement_keeps_the_mean_image_and_reduces_to_zeroing():
    basis = orthonormalise(random_inputs(2, 8, seed=7))
    x, mean = random_inputs(5, 8, seed=8), random_inputs(1, 8, seed=9)[0]
    assert_close(project_out(mean[None], basis, mean), mean[None])  # the mean is kept
    y = project_out(x, basis, mean)
    assert_close(y @ basis.T, (mean @ basis.T).expand(5, 2))  # the span now reads the mean's
    off = project_out(mean[None], basis)[0]  # a mean with no part in the span
    assert_close(project_out(x, basis, off), project_out(x, basis))


def test_ablation_by_mean_replacement():
    model, data = hand_built(), toy_data()
    x = data[0 : len(data)][0].double()
    directions = torch.stack([V[None], U1[None], U2[None]])  # (3, 1, 16)
    zero = ablation_matrix(model, data, directions, ks=(1,), name="blocks")
    pixel = torch.zeros(16, dtype=torch.float64)
    pixel[13] = 1.0  # a mean image with no part in any block: the same as zeroing
    same = ablation_matrix(model, data, directions, ks=(1,), mode="mean", mean=pixel)
    assert torch.equal(same.accuracy, zero.accuracy) and same.mode == "mean"
    # the data's own mean: every image of class c keeps c's block at the average level
    avg = ablation_matrix(model, data, directions, ks=(1,), mode="mean", mean=x.mean(0))
    assert avg.mode == "mean" and avg.accuracy.shape == zero.accuracy.shape
    basis = orthonormalise(directions[0])  # the mean image's logits are unchanged
    m = x.mean(0, keepdim=True)
    with torch.no_grad():
        assert_close(model(project_out(m, basis, x.mean(0))), model(m))
    with pytest.raises(ValueError, match="mean image"):
        ablation_matrix(model, data, directions, ks=(1,), mode="mean")
    with pytest.raises(ValueError, match="mode"):
        ablation_matrix(model, data, directions, ks=(1,), mode="shuffle")
