"""The fused settle (new) against the micro-step graph (old: the code before it, kept as the
fallback path) in one process.

Per round: the same FLOPs of plain [256, N] @ [N, N] matmuls, then iterations of each path;
prints each round's ratios (achieved FLOP rate / matmul FLOP rate) and their medians.
Usage: ``PYTHONPATH=. python docs/perf/compare_settle.py HIDDEN RULE ROUNDS [K] [old,new]``.
"""

import os
import statistics
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from biovw.circuits import dynamics
from biovw.config import config_from_dict
from biovw.runs.build import build_run
from biovw.runs.train import new_state, train_iteration

torch.set_num_threads(2)
hidden, rule, rounds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
K = int(sys.argv[4]) if len(sys.argv) > 4 else 2
modes = sys.argv[5].split(",") if len(sys.argv) > 5 else ["old", "new"]
batch = 256
fusable = dynamics.fusable


def set_mode(mode):
    dynamics.fusable = (lambda p, rec: False) if mode == "old" else fusable


def make():
    cfg = config_from_dict({
        "name": "compare", "seed": 0,
        "data": {"name": "mog_grid", "n_samples": 1024, "noise": 0.05},
        "circuit": {"kind": "rate", "hidden": hidden, "settle_steps": 5, "dale": True},
        "rule": {"name": rule}, "walkback": {"num_steps": K, "online_updates": True},
        "train": {"batch_size": batch}})
    data, model = build_run(cfg, torch.device("cpu"))
    return cfg, new_state(cfg, model, data), data.train[:batch]


runs = {m: make() for m in modes}
for m in modes:
    set_mode(m)
    train_iteration(*runs[m])
with FlopCounterMode(display=False) as counter:
    train_iteration(*runs[modes[-1]])
flops = counter.get_total_flops()
n = hidden + 2
a, w = torch.randn(batch, n), torch.randn(n, n)
per = 2 * batch * n * n
n_mm = max(1, round(flops / per))
a @ w.T
started = time.perf_counter()
train_iteration(*runs[modes[-1]])
reps = max(1, round(0.3 / (time.perf_counter() - started)))  # iterations per timing
print("load", os.getloadavg(), "flops/it", flops, "matmuls/it", n_mm, "reps", reps, flush=True)
ratios = {m: [] for m in modes}
for r in range(rounds):
    started = time.perf_counter()
    for _ in range(n_mm * reps):
        a @ w.T
    t_mm = time.perf_counter() - started
    for m in modes:
        set_mode(m)
        started = time.perf_counter()
        for _ in range(reps):
            train_iteration(*runs[m])
        ratios[m].append(t_mm * flops / (n_mm * per) / (time.perf_counter() - started))
    print(r, {m: round(v[-1], 3) for m, v in ratios.items()},
          f"mm {n_mm * reps * per / t_mm / 1e9:.1f} GF/s", flush=True)
for m in modes:
    print(f"RESULT hidden={hidden} rule={rule} K={K} {m} "
          f"median={statistics.median(ratios[m]):.3f}")
print("load", os.getloadavg())
