# Solutions to the exercises of notebooks/00_tensor_networks.ipynb.
#
# One "# %% <exercise name>" section per exercise: the code that replaces the exercise's stub
# cell (`exercises.fill_solutions` does it for the papermill run with solutions). Each section
# runs in the notebook, after its cells: `torch`, `net` and `tiny` come from there.
# ruff: noqa: F821, E402  (sections are notebook cells: names from the notebook, imports per cell)

# %% 00.symmetric_form
def symmetric_form(L, R, D):
    """(S, D′) with D′ (S x)² = D (Lx ⊙ Rx): (a + b)² − (a − b)² = 4ab."""
    S = torch.cat([L + R, L - R])  # (2k, d)
    return S, 0.25 * torch.cat([D, -D], dim=1)  # (o, 2k)


# %% 00.antisymmetric_part
def antisymmetric_part(L, R, D):
    """A = ½(B − Bᵀ). xᵀA x = ½(xᵀB x − xᵀBᵀx) = 0: a number equals its transpose."""
    B = torch.einsum("oh,hi,hj->oij", D, L, R)
    return (B - B.mT) / 2


# %% 00.residual_block
from xnets_lite.core.network import BilinearLayer


def residual_layer(block):
    """[1, x] ↦ [1, x + D(L̃x̃ ⊙ R̃x̃) + b_D]: the residual and the constant are products x̃_i · 1."""
    L = torch.cat([block.left.bias[:, None], block.left.weight], 1).detach()  # (h, d+1)
    R = torch.cat([block.right.bias[:, None], block.right.weight], 1).detach()
    h, n = L.shape
    eye = torch.eye(n, dtype=L.dtype)
    left = torch.cat([L, eye])  # h products, then x̃_i ...
    right = torch.cat([R, eye[:1].expand(n, n)])  # ... times the constant 1
    down = torch.zeros(n, h + n, dtype=L.dtype)
    down[1:, :h] = block.down.weight.detach()
    down[1:, h] = block.down.bias.detach()  # b_D · (1 · 1)
    down[0, h] = 1  # 1 · 1 → the constant coordinate
    down[1:, h + 1 :] = eye[1:, 1:]  # x_i · 1 → the residual
    return BilinearLayer(left, right, down)


# %% 00.spectra_before_after
from xnets_lite.core.odt import downstream_grams, orthogonalise


def spectra_before_after(net):
    """Only after orthogonalising is the basis below the wire orthonormal, so only then are
    the Gram's eigenvalues the squared singular values of the unfolding."""

    def eigenvalues(m):
        return torch.linalg.eigvalsh(m).flip(0)

    return (
        eigenvalues(downstream_grams(net)[0]),
        eigenvalues(downstream_grams(orthogonalise(net))[0]),
    )
