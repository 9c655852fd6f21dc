"""Fused settle (new) against the micro-step graph (old, the code before it, kept as the fallback path) in one process: per round one training iteration of each and the same FLOPs of plain [256, N] @ [N, N] matmuls; prints each round's ratios (achieved FLOP rate / matmul FLOP rate) and their medians. Usage: python compare_settle.py HIDDEN RULE ROUNDS [K] [modes]."""
import sys, statistics, os, time, torch
from torch.utils.flop_counter import FlopCounterMode
from biovw.circuits import dynamics as D
from biovw.config import config_from_dict
from biovw.runs.build import build_run
from biovw.runs.train import new_state, train_iteration
torch.set_num_threads(2)
hidden, rule, rounds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
K = int(sys.argv[4]) if len(sys.argv) > 4 else 2
modes = sys.argv[5].split(",") if len(sys.argv) > 5 else ["old", "new"]
batch = 256
orig = D.fusable
def setmode(m):
    D.fusable = (lambda p, rec: False) if m == "old" else orig
def make():
    cfg = config_from_dict({"name": "b", "seed": 0,
        "data": {"name": "mog_grid", "n_samples": 1024, "noise": 0.05},
        "circuit": {"kind": "rate", "hidden": hidden, "settle_steps": 5, "dale": True},
        "rule": {"name": rule}, "walkback": {"num_steps": K, "online_updates": True},
        "train": {"batch_size": batch}})
    data, model = build_run(cfg, torch.device("cpu"))
    st = new_state(cfg, model, data)
    return cfg, st, data.train[:batch]
runs = {m: make() for m in modes}
for m in modes:
    setmode(m); train_iteration(*runs[m])
setmode(modes[-1])
with FlopCounterMode(display=False) as fc:
    train_iteration(*runs[modes[-1]])
flops = fc.get_total_flops()
n = hidden + 2
a, w = torch.randn(batch, n), torch.randn(n, n)
per = 2 * batch * n * n
nmm = max(1, round(flops / per))
a @ w.T
ratios = {m: [] for m in modes}
t0 = time.perf_counter(); train_iteration(*runs[modes[-1]])
reps = max(1, round(0.3 / (time.perf_counter() - t0)))  # iterations per timing, >= ~0.3 s
print("load", os.getloadavg(), "flops/it", flops, "matmuls/it", nmm, "reps", reps, flush=True)
for r in range(rounds):
    t0 = time.perf_counter()
    for _ in range(nmm * reps): a @ w.T
    tmm = time.perf_counter() - t0
    for m in modes:
        setmode(m)
        t0 = time.perf_counter()
        for _ in range(reps): train_iteration(*runs[m])
        t = time.perf_counter() - t0
        ratios[m].append(tmm * flops / (nmm * per) / t)
    print(r, {m: round(v[-1], 3) for m, v in ratios.items()}, f"mm {nmm*per/tmm/1e9:.1f} GF/s", flush=True)
for m in modes:
    print(f"RESULT hidden={hidden} rule={rule} K={K} {m} median={statistics.median(ratios[m]):.3f}")
print("load", os.getloadavg())
