"""The same decomposition in a data metric: inputs whitened by the training set.

ODT's Grams treat the input coordinates ``x̃ = [1, pixels]`` as orthonormal, so what counts
as a "large" direction depends on the pixel scale. Re-express every input as

    z = Σ^{-1/2} (x − μ),         x = μ + Σ^{1/2} z,

with μ and Σ the training set's mean and covariance (Σ regularised by ``ε`` times its mean
variance, because MNIST's border pixels never vary). The affine change is folded into the
embedding exactly, ``E ← E [[1, 0], [μ, Σ^{1/2}]]``, so the network of z computes the same
logits; ODT on it measures directions in the data's own metric (unit = one standard
deviation along a principal axis), and the constant coordinate now sits at the mean image.

Example::

    metric = DataMetric.fit(x_train)
    net_z = metric.fold(model)                 # Network of z, same logits
    dec_z = odt(net_z)
    torch.allclose(net_z(metric.to_z(x)), model(x).double())
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from xnets_lite.analysis.degrees import as_network
from xnets_lite.core.network import Network


@dataclass
class DataMetric:
    """``mean`` (d,), ``sqrt_cov`` Σ^{1/2} and ``inv_sqrt_cov`` Σ^{-1/2} (d, d), float64,
    and ``eps`` (the regulariser, relative to the mean variance)."""

    mean: Tensor
    sqrt_cov: Tensor
    inv_sqrt_cov: Tensor
    eps: float

    @classmethod
    @torch.no_grad()
    def fit(cls, x: Tensor, eps: float = 1e-3) -> DataMetric:
        """From training inputs ``x`` (N, d): ``Σ_ε = Cov(x) + ε · mean(diag Cov) · I``."""
        x = x.reshape(len(x), -1).double()
        if len(x) < 2:
            raise ValueError("DataMetric.fit needs at least 2 inputs to estimate a covariance")
        if not eps > 0:
            raise ValueError(f"eps must be > 0 (pixels that never vary make Σ singular), got {eps}")
        mu = x.mean(0)
        cov = torch.cov(x.T)
        cov = cov + eps * cov.diagonal().mean() * torch.eye(len(mu), dtype=cov.dtype)
        s, u = torch.linalg.eigh(cov)
        return cls(mu, (u * s.sqrt()) @ u.T, (u * s.rsqrt()) @ u.T, float(eps))

    def to_z(self, x: Tensor) -> Tensor:
        """(N, d) inputs → (N, d) whitened coordinates, float64."""
        return (x.reshape(len(x), -1).double() - self.mean) @ self.inv_sqrt_cov.T

    def to_x(self, z: Tensor) -> Tensor:
        return self.mean + z.double() @ self.sqrt_cov.T

    def direction_to_pixels(self, v: Tensor) -> Tensor:
        """A direction (…, d) in z (a unit step of one standard deviation) as the pixel
        change it makes, ``Σ^{1/2} v``: what to draw."""
        return v.double() @ self.sqrt_cov.T

    def fold(self, model) -> Network:
        """The float64 ``Network`` of z with the same logits as ``model`` of x."""
        net = as_network(model)
        d = net.d_input
        if self.mean.numel() != d:
            raise ValueError(f"this metric is for {self.mean.numel()} inputs, the network has {d}")
        change = torch.zeros(d + 1, d + 1, dtype=net.dtype, device=net.device)
        change[0, 0] = 1
        change[1:, 0] = self.mean.to(net.device)
        change[1:, 1:] = self.sqrt_cov.to(net.device)
        return net.replace(embed=net.embed @ change)
