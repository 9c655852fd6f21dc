"""Two-dimensional toy distributions sampled with torch."""

from __future__ import annotations

import math

import torch

__all__ = ["TOY_NOISE", "circle", "mog_grid", "mog_grid_centres", "moons", "spiral"]

TOY_NOISE: float = 0.05
"""Default noise standard deviation of the toy distributions."""

SPIRAL_TURNS: float = 1.5
"""Number of turns of the ``spiral`` arm."""


def mog_grid_centres() -> torch.Tensor:
    """Centres of the 3x3 Gaussian mixture.

    Returns
    -------
    torch.Tensor
        ``[9, 2]`` float32 tensor of the points of ``{-1, 0, 1}^2``, ordered
        row-major by the first coordinate then the second.
    """
    axis = torch.tensor([-1.0, 0.0, 1.0])
    return torch.cartesian_prod(axis, axis).contiguous()


def mog_grid(n: int, noise: float, generator: torch.Generator) -> torch.Tensor:
    """Sample the 3x3 grid mixture of isotropic Gaussians.

    Parameters
    ----------
    n : int
        Number of samples.
    noise : float
        Standard deviation of each component.
    generator : torch.Generator
        Source of randomness.

    Returns
    -------
    torch.Tensor
        ``[n, 2]`` float32 samples; components are chosen with equal probability.
    """
    centres = mog_grid_centres()
    component = torch.randint(0, centres.shape[0], (n,), generator=generator)
    eps = torch.randn(n, 2, generator=generator)
    return centres[component] + noise * eps


def spiral(n: int, noise: float, generator: torch.Generator) -> torch.Tensor:
    """Sample a one-armed Archimedean spiral with Gaussian noise.

    The angle ``theta`` is uniform on ``[0, 2 pi * SPIRAL_TURNS]`` and the radius
    is ``theta / (2 pi * SPIRAL_TURNS)``, so the noiseless curve lies in the unit
    disc.

    Parameters
    ----------
    n : int
        Number of samples.
    noise : float
        Standard deviation of the isotropic Gaussian noise added to each point.
    generator : torch.Generator
        Source of randomness.

    Returns
    -------
    torch.Tensor
        ``[n, 2]`` float32 samples.
    """
    theta_max = 2.0 * math.pi * SPIRAL_TURNS
    theta = theta_max * torch.rand(n, generator=generator)
    radius = theta / theta_max
    points = torch.stack([radius * torch.cos(theta), radius * torch.sin(theta)], dim=1)
    return points + noise * torch.randn(n, 2, generator=generator)


def circle(n: int, noise: float, generator: torch.Generator) -> torch.Tensor:
    """Sample the unit circle with radial Gaussian noise.

    Parameters
    ----------
    n : int
        Number of samples.
    noise : float
        Standard deviation of the radius around 1.
    generator : torch.Generator
        Source of randomness.

    Returns
    -------
    torch.Tensor
        ``[n, 2]`` float32 samples with uniform angle.
    """
    theta = 2.0 * math.pi * torch.rand(n, generator=generator)
    radius = 1.0 + noise * torch.randn(n, generator=generator)
    return torch.stack([radius * torch.cos(theta), radius * torch.sin(theta)], dim=1)


def moons(n: int, noise: float, generator: torch.Generator) -> torch.Tensor:
    """Sample two interleaving half circles.

    The shape is that of scikit-learn's ``make_moons`` (an upper unit half
    circle centred at the origin and a lower one centred at ``(1, 0.5)``), with
    uniformly random angles, shifted by ``(-0.5, -0.25)`` and scaled by ``2/3``
    so that it spans ``[-1, 1] x [-0.5, 0.5]``. Isotropic Gaussian noise of
    standard deviation ``noise`` is added after scaling.

    Parameters
    ----------
    n : int
        Number of samples; ``n - n // 2`` on the upper moon, ``n // 2`` on the lower.
    noise : float
        Standard deviation of the noise.
    generator : torch.Generator
        Source of randomness.

    Returns
    -------
    torch.Tensor
        ``[n, 2]`` float32 samples.
    """
    n_lower = n // 2
    n_upper = n - n_lower
    theta = math.pi * torch.rand(n, generator=generator)
    t_up, t_low = theta[:n_upper], theta[n_upper:]
    upper = torch.stack([torch.cos(t_up), torch.sin(t_up)], dim=1)
    lower = torch.stack([1.0 - torch.cos(t_low), 0.5 - torch.sin(t_low)], dim=1)
    points = (torch.cat([upper, lower], dim=0) - torch.tensor([0.5, 0.25])) * (2.0 / 3.0)
    return points + noise * torch.randn(n, 2, generator=generator)
