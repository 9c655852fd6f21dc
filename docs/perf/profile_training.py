"""Profile online training iterations (batch 256, 5 settle steps, K = 2) with torch.profiler.

Usage: ``PYTHONPATH=. python docs/perf/profile_training.py HIDDEN RULE [ITERATIONS]``.
"""

import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile

from biovw.config import config_from_dict
from biovw.runs.build import build_run
from biovw.runs.train import new_state, train_iteration

torch.set_num_threads(2)
hidden, rule = int(sys.argv[1]), sys.argv[2]
iterations = int(sys.argv[3]) if len(sys.argv) > 3 else 5
batch = 256
cfg = config_from_dict({
    "name": "profile", "seed": 0,
    "data": {"name": "mog_grid", "n_samples": 1024, "noise": 0.05},
    "circuit": {"kind": "rate", "hidden": hidden, "settle_steps": 5, "dale": True},
    "rule": {"name": rule}, "walkback": {"num_steps": 2, "online_updates": True},
    "train": {"batch_size": batch}})
data, model = build_run(cfg, torch.device("cpu"))
state = new_state(cfg, model, data)
x = data.train[:batch]
for _ in range(2):
    train_iteration(cfg, state, x)
with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
    for _ in range(iterations):
        train_iteration(cfg, state, x)
rows = int(os.environ.get("ROWS", 30))
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows,
                                max_name_column_width=40))
print(prof.key_averages(group_by_input_shape=True).table(
    sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=30,
    max_shapes_column_width=60))
