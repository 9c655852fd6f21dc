"""Speed measurements written as JSON by ``biovw bench``.

Every entry reports a ratio measured in the same process, so that numbers from noisy
machines stay comparable: the kernel-exact estimator's achieved FLOP rate against a plain
matrix product of the same shape (:func:`bench_kernel_estimator`), the RBM's epoch time
against scikit-learn's (:func:`biovw.baselines.compare_sklearn.bench_rbm`), and the chain
steps per second of the batched torch sampler against the Brian2 network of the same circuit
on each code-generation target and recurrence (:func:`bench_brian2`), and a training
iteration's achieved FLOP rate against a plain matrix product of the settle loop's shape
(:func:`bench_training`), and the same for the T = 1 sampler of shipped circuits
(:func:`bench_sampling`) and the IS likelihood evaluation (:func:`bench_likelihood`).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from biovw import brian
from biovw.analysis.kernel import entropy_production_kernel
from biovw.baselines.compare_sklearn import bench_rbm
from biovw.circuits import RateCircuit
from biovw.config import config_from_dict
from biovw.runs.build import build_run
from biovw.runs.train import new_state, train_iteration
from biovw.walkback import (
    GaussianOperator,
    GaussianPrior,
    StationaryKernel,
    WalkbackModel,
    trajectories,
)


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


def _dale_model(n_units: int, seed: int = 0) -> WalkbackModel:
    """A Dale rate circuit of ``n_units`` units (a fifth visible), 5 settle steps, one
    temperature step, under a Gaussian operator."""
    dim = n_units // 5
    circuit = RateCircuit(dim, n_units - dim, 1, settle_steps=5, seed=seed)
    return WalkbackModel(circuit, GaussianOperator(dim, 0.5, 0.1), GaussianPrior(dim),
                         torch.ones(1))


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
    model = _dale_model(n_units).to(dev)
    circuit = model.circuit
    n_steps = n_transitions // n_chains
    gen = torch.Generator(device=dev).manual_seed(0)
    start = torch.randn(n_chains, circuit.dim, device=dev, generator=gen)
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


BRIAN_SIZES = ((100, 100, 200), (1000, 4, 40))
"""(units, chains, transitions) of the torch / Brian2 comparison."""


def _torch_seconds_per_transition(model: WalkbackModel, initial: torch.Tensor, n_steps: int,
                                  repeats: int = 3) -> float:
    """Wall time per transition of all chains of the batched sampler: the fastest of
    ``repeats`` runs after a warm-up."""
    generator = torch.Generator().manual_seed(0)
    trajectories(model, initial, 1, generator)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        trajectories(model, initial, n_steps, generator)
        seconds.append(time.perf_counter() - started)
    return min(seconds) / (n_steps + model.num_steps)


def bench_brian2(sizes: tuple[tuple[int, int, int], ...] = BRIAN_SIZES,
                 targets: tuple[str, ...] = brian.TARGETS) -> dict:
    """Chain steps per second of the batched torch sampler and of the Brian2 network of the
    same Dale circuit (with noise), on each target that works here and with each recurrence.

    A chain step is one transition of one chain (``settle_steps`` micro-steps); Brian2's time
    leaves out building and compiling (:func:`biovw.brian.seconds_per_transition`), torch's is
    the fastest of three runs. torch runs in float32 (the sampler as trained) and float64 (as
    ``biovw simulate`` runs it, like Brian2), with the process's torch threads; Brian2 runs on
    one thread.

    Returns
    -------
    dict
        ``sizes``: per size, ``n_units``, ``n_chains``, ``n_steps``, ``synapses`` (recurrent
        synapses per chain), chain steps per second of ``torch_float32``, ``torch_float64``
        and ``brian2.{target}.{recurrence}``, and ``ratio_to_torch_float32`` of each Brian2
        figure; ``unavailable``: targets that cannot run here, with the reason.
    """
    unavailable = brian.unavailable_targets()
    results = []
    for n_units, n_chains, n_steps in sizes:
        model = _dale_model(n_units)
        spec = model.spec()
        initial = model.prior.sample(n_chains, torch.Generator().manual_seed(0))
        entry = {"n_units": n_units, "n_chains": n_chains, "n_steps": n_steps,
                 "synapses": int(np.asarray(spec.circuit.mask).sum())}
        with torch.no_grad():
            for name, dtype in (("torch_float32", torch.float32), ("torch_float64", torch.float64)):
                seconds = _torch_seconds_per_transition(model.to(dtype), initial.to(dtype),
                                                        n_steps)
                entry[name] = round(n_chains / seconds, 1)
        plan = brian.schedule(spec.operator.temperatures, n_steps, cool_down=False)
        entry["brian2"] = {}
        for target in (t for t in targets if t not in unavailable):
            entry["brian2"][target] = {}
            for recurrence in brian.RECURRENCES:
                with brian.device(target):
                    net = brian.RateNetwork(spec, initial.double().numpy(), plan, noise=True,
                                            recurrence=recurrence)
                    seconds = brian.seconds_per_transition(net)
                entry["brian2"][target][recurrence] = round(n_chains / seconds, 1)
        entry["ratio_to_torch_float32"] = {
            target: {k: float(f"{v / entry['torch_float32']:.4g}") for k, v in by.items()}
            for target, by in entry["brian2"].items()}
        results.append(entry)
    return {"sizes": results, "unavailable": unavailable,
            "circuit": "Dale rate circuit, a fifth of the units visible, dense W (no "
                       "autapses), tanh, 5 settle steps, Gaussian operator with noise"}


__all__ = ["bench_brian2", "bench_kernel_estimator", "bench_rbm"]


TRAINING_SIZES = (256, 1024, 4096)
TRAINING_RULES = ("backprop", "fa")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def training_speed(hidden: int, rule: str, *, batch: int = 256, settle_steps: int = 5,
                   num_steps: int = 2, budget: float = 5.0,
                   device: torch.device | str = "cpu") -> dict:
    """Iterations per second of the default job's training step (Dale rate circuit on the
    mixture, online updates) at ``hidden`` units and its achieved FLOP rate as a fraction of a
    plain ``[batch, N] @ [N, N]`` product (N = visible + hidden) timed in the same call (the
    faster of a timing just before and one just after the iterations).

    The FLOPs of an iteration are counted, not modelled: one iteration runs under
    :class:`torch.utils.flop_counter.FlopCounterMode`, which sees every matrix product of the
    forward pass, autograd's backward and a rule's own backward. ``num_steps`` temperature
    steps keep large sizes affordable (each step repeats the same work). The timing loop runs
    at least 2 iterations after a warm-up one and stops after about ``budget`` seconds.
    """
    device = torch.device(device)
    cfg = config_from_dict({
        "name": "bench_training", "seed": 0,
        "data": {"name": "mog_grid", "n_samples": max(4 * batch, 1000), "noise": 0.05},
        "circuit": {"kind": "rate", "hidden": hidden, "settle_steps": settle_steps,
                    "dale": True},
        "rule": {"name": rule},
        "walkback": {"num_steps": num_steps, "online_updates": True},
        "train": {"batch_size": batch}})
    data, model = build_run(cfg, device)
    state = new_state(cfg, model, data)
    x = data.train[:batch].to(device)
    train_iteration(cfg, state, x)  # warm-up
    with FlopCounterMode(display=False) as counter:
        train_iteration(cfg, state, x)
    flops = counter.get_total_flops()
    n_units = model.circuit.dim + hidden
    _sync(device)
    probe = time.perf_counter()
    train_iteration(cfg, state, x)
    _sync(device)
    repeats = max(3, min(200, int(0.5 / max((time.perf_counter() - probe) / 20, 1e-4))))
    before = _matmul_flops(batch, n_units, device, repeats=repeats)
    done, started = 0, time.perf_counter()
    while done < 2 or time.perf_counter() - started < budget:
        train_iteration(cfg, state, x)
        done += 1
    _sync(device)
    seconds = (time.perf_counter() - started) / done
    # the faster of a matmul timing just before and one just after: another job's burst
    # during one of them would otherwise inflate the ratio
    reference = max(before, _matmul_flops(batch, n_units, device, repeats=repeats))
    achieved = flops / seconds
    return {"n_units": n_units, "batch": batch, "settle_steps": settle_steps,
            "num_steps": num_steps, "iterations": done, "iterations_per_second": 1 / seconds,
            "flops_per_iteration": flops, "achieved_gflops": achieved / 1e9,
            "matmul_gflops": reference / 1e9, "ratio_to_matmul": achieved / reference}


def bench_training(sizes: tuple[int, ...] = TRAINING_SIZES,
                   rules: tuple[str, ...] = TRAINING_RULES, *, budget: float = 5.0,
                   device: torch.device | str = "cpu", **options) -> dict:
    """:func:`training_speed` for every hidden size and rule: ``{hidden: {rule: {...}}}``."""
    return {str(h): {r: training_speed(h, r, budget=budget, device=device, **options)
                     for r in rules} for h in sizes}


SAMPLER_CIRCUITS = {
    "default": ("circuits/rate_net.yaml", 1000, 100),
    "mnist": ("circuits/mnist_rate_fa.yaml", 500, 20),
}
"""Circuit name -> (config, chains, timed sampler steps) of :func:`bench_sampling`."""


def _counted_and_timed(work, n_rows: int, n_units: int, device: torch.device,
                       budget: float) -> dict:
    """FLOPs of one call of ``work`` (counted by FlopCounterMode), its mean wall time over
    repeated calls (at least 2, about ``budget`` seconds, after a warm-up) and the achieved
    FLOP rate against a plain ``[n_rows, N] @ [N, N]`` product timed just before and just after
    (the faster of the two)."""
    work()
    with FlopCounterMode(display=False) as counter:
        work()
    flops = counter.get_total_flops()
    before = _matmul_flops(n_rows, n_units, device)
    done, started = 0, time.perf_counter()
    while done < 2 or time.perf_counter() - started < budget:
        work()
        done += 1
    _sync(device)
    seconds = (time.perf_counter() - started) / done
    reference = max(before, _matmul_flops(n_rows, n_units, device))
    achieved = flops / seconds
    return {"seconds_per_call": seconds, "calls": done, "flops_per_call": flops,
            "achieved_gflops": achieved / 1e9, "matmul_gflops": reference / 1e9,
            "ratio_to_matmul": achieved / reference}


def _trained_shape_model(config: str, device: torch.device, overrides: tuple[str, ...] = ()):
    """The (untrained) model and data of a shipped config: speed depends on shapes only."""
    from biovw.config import load_config

    cfg = load_config(config, list(overrides))
    return build_run(cfg, device)


def bench_sampling(circuits: tuple[str, ...] = tuple(SAMPLER_CIRCUITS), *, budget: float = 3.0,
                   device: torch.device | str = "cpu", quick: bool = False) -> dict:
    """Chain steps per second of the T = 1 sampler of shipped circuits, as a fraction of a
    plain matrix product of the settle loop's shape (``[chains, N] @ [N, N]``).

    Returns
    -------
    dict
        ``{circuit: {chain_steps_per_second, ratio_to_matmul, ...}}``.
    """
    from biovw.walkback import CHAIN

    device = torch.device(device)
    out = {}
    for name in circuits:
        config, chains, steps = SAMPLER_CIRCUITS[name]
        chains, steps = (min(chains, 100), 5) if quick else (chains, steps)
        data, model = _trained_shape_model(config, device, ("circuit.hidden=32",) if quick
                                           else ())
        model.eval()
        gen = torch.Generator(device=device).manual_seed(0)
        s = data.train[:1].to(device).repeat(chains, 1)

        def work(s=s, model=model, gen=gen, steps=steps):
            with torch.no_grad():
                x = s
                for _ in range(steps):
                    x = CHAIN.step(model, x, gen)

        n_units = model.circuit.dim + model.circuit.hidden
        timed = _counted_and_timed(work, chains, n_units, device, budget)
        out[name] = {"config": config, "n_units": n_units, "chains": chains,
                     "chain_steps_per_second": chains * steps / timed["seconds_per_call"],
                     **timed}
    return out


def bench_likelihood(*, n_examples: int = 100, n_trajectories: int = 50, budget: float = 3.0,
                     device: torch.device | str = "cpu", quick: bool = False) -> dict:
    """Heating trajectories per second of the IS log-likelihood evaluation of the default
    circuit, as a fraction of a plain matrix product of the settle loop's shape
    (``[n_examples * n_trajectories, N] @ [N, N]``)."""
    from biovw.walkback import estimate_log_likelihood

    device = torch.device(device)
    if quick:
        n_examples, n_trajectories = 10, 5
    data, model = _trained_shape_model("circuits/rate_net.yaml", device,
                                       ("circuit.hidden=32",) if quick else ())
    model.eval()
    x = data.valid[:n_examples].to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    rows = n_examples * n_trajectories

    def work():
        with torch.no_grad():
            estimate_log_likelihood(model, x, n_trajectories, gen, batch_size=rows)

    n_units = model.circuit.dim + model.circuit.hidden
    timed = _counted_and_timed(work, rows, n_units, device, budget)
    return {"config": "circuits/rate_net.yaml", "n_units": n_units, "n_examples": n_examples,
            "n_trajectories": n_trajectories,
            "trajectories_per_second": rows / timed["seconds_per_call"], **timed}
