"""Profile one online training iteration (batch 256, 5 settle steps) with torch.profiler: python profile_training.py HIDDEN RULE [ITERATIONS]."""
import sys, os, time, torch
from torch.profiler import profile, ProfilerActivity
from biovw.config import config_from_dict
from biovw.runs.build import build_run
from biovw.runs.train import new_state, train_iteration
torch.set_num_threads(2)
hidden, rule = int(sys.argv[1]), sys.argv[2]
batch, settle, K = 256, 5, 2
cfg = config_from_dict({"name": "p", "seed": 0,
    "data": {"name": "mog_grid", "n_samples": 1024, "noise": 0.05},
    "circuit": {"kind": "rate", "hidden": hidden, "settle_steps": settle, "dale": True},
    "rule": {"name": rule}, "walkback": {"num_steps": K, "online_updates": True},
    "train": {"batch_size": batch}})
data, model = build_run(cfg, torch.device("cpu"))
state = new_state(cfg, model, data)
x = data.train[:batch]
for _ in range(2): train_iteration(cfg, state, x)
n = int(sys.argv[3]) if len(sys.argv) > 3 else 5
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    for _ in range(n): train_iteration(cfg, state, x)
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=int(os.environ.get("ROWS", 30)), max_name_column_width=40))
print(prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=30, max_shapes_column_width=60))
