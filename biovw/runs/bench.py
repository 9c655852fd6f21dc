"""Speed measurements written as JSON by ``biovw bench``.

Every entry reports a ratio measured in the same process, so that numbers from noisy
machines stay comparable: the kernel-exact estimator's achieved FLOP rate against a plain
matrix product of the same shape (:func:`bench_kernel_estimator`), and the RBM's epoch time
against scikit-learn's (:func:`biovw.baselines.compare_sklearn.bench_rbm`).
"""

from __future__ import annotations

import platform
import time

import torch

from biovw.analysis.kernel import entropy_production_kernel
from biovw.baselines.compare_sklearn import bench_rbm
from biovw.circuits import RateCircuit
from biovw.walkback import GaussianOperator, GaussianPrior, StationaryKernel, WalkbackModel


def _matmul_flops(n_rows: int, n: int, device: torch.device, repeats: int = 50) -> float:
    """FLOP/s of ``[n_rows, n] @ [n, n]`` products (the settle loop's core operation)."""
    a = torch.randn(n_rows, n, device=device)
    w = torch.randn(n, n, device=device)
    a @ w  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        a @ w.T
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * n_rows * n * n * repeats / (time.perf_counter() - started)


def bench_kernel_estimator(n_transitions: int = 1_000_000, n_units: int = 100,
                           n_chains: int = 2000, device: str = "cpu") -> dict:
    """Time the kernel-exact entropy production of a Dale rate circuit with ``n_units`` units.

    Returns
    -------
    dict
        Seconds, transitions per second, achieved FLOP/s of the circuit evaluations and their
        ratio to a plain matrix product of the same shape.
    """
    dev = torch.device(device)
    dim = n_units // 5
    circuit = RateCircuit(dim, n_units - dim, 1, settle_steps=5, seed=0)
    model = WalkbackModel(circuit, GaussianOperator(dim, 0.5, 0.1), GaussianPrior(dim),
                          torch.ones(1)).to(dev)
    n_steps = n_transitions // n_chains
    gen = torch.Generator(device=dev).manual_seed(0)
    start = torch.randn(n_chains, dim, device=dev, generator=gen)
    started = time.perf_counter()
    result = entropy_production_kernel(StationaryKernel(model), start, n_steps, generator=gen)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    # one circuit evaluation per transition: settle_steps products of [chains, N] x [N, N]
    flops = 2 * n_chains * n_units**2 * circuit.settle_steps * (n_steps + 1)
    achieved = flops / seconds
    reference = _matmul_flops(n_chains, n_units, dev)
    return {
        "n_transitions": n_chains * n_steps, "n_units": n_units, "n_chains": n_chains,
        "seconds": round(seconds, 3), "transitions_per_second": round(n_chains * n_steps / seconds),
        "achieved_gflops": round(achieved / 1e9, 3), "matmul_gflops": round(reference / 1e9, 3),
        "ratio_to_matmul": round(achieved / reference, 3),
        "entropy_production": result.value,
    }


__all__ = ["bench_kernel_estimator", "bench_rbm", "environment"]


def environment() -> dict:
    """Where the numbers were measured."""
    return {
        "python": platform.python_version(), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "machine": platform.machine(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
