"""Quick sample-quality check of a mixture setting on the validation split (for sweeps).

Trains (or reuses) one run per seed and reports, 1,000 T=1 steps past the cool-down, what the
default job's headline reports (sliced W2, near-mode fraction, mode shares) plus where the
sliced W2 comes from, without the likelihood ladder:

* ``w2_shares``: sliced W2 between the validation split and training points resampled with the
  *samples'* mode shares -- the part of W2 an exact within-mode sampler with these shares
  would still have (mode-share imbalance);
* ``w2_shape``: sliced W2 between the samples and that resampled set -- the part that comes
  from the shape of the samples around their modes (blur, offsets, off-mode samples);
* ``spread``: the samples' standard deviation around their nearest mode (data: the noise);
* ``bound``, ``is_loglik``: on 500 validation examples, IS with 25 and 100 trajectories;
* ``shares_from_q``: mode shares when the cool-down starts from the heated training data
  (states after K heating steps) instead of from p*: if these are balanced and the p* ones
  are not, the prior is what skews the shares; if both are skewed, the reverse chain is.

Usage::

    python analysis/quality_sweep.py LABEL circuits/rate_net.yaml --seeds 0 1 2 \\
        --set walkback.kappa=0.7

Runs go to ``results/sweep/LABEL/seedS`` and one JSON line per seed is appended to
``results/sweep/log.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from biovw.config import load_config
from biovw.quality import mode_shares, sample_quality, sliced_wasserstein
from biovw.runs import RunDir, build_run
from biovw.runs.checkpoint import load_checkpoint
from biovw.runs.train import train
from biovw.walkback import estimate_log_likelihood, heat, sample_chain

REPO = Path(__file__).resolve().parents[1]


def _resample_by_shares(train_x, modes, shares, n, gen):
    """``n`` training points whose mode proportions are ``shares``."""
    nearest = torch.cdist(train_x, modes).argmin(1)
    counts = torch.round(torch.as_tensor(shares) * n).long()
    parts = []
    for m, c in enumerate(counts.tolist()):
        pool = train_x[nearest == m]
        if c > 0:
            parts.append(pool[torch.randint(len(pool), (c,), generator=gen)])
    return torch.cat(parts)


def diagnose(model, data, seed: int, n: int = 2000, extra: int = 1000,
             from_q: bool = True) -> dict:
    """Sample quality of ``model`` on the validation split and the decomposition above."""
    model.eval()
    ref, modes = data.valid, data.modes
    gen = torch.Generator().manual_seed(seed)
    snaps = sample_chain(model, n, [0, extra], gen)
    out: dict = {}
    for k, s in snaps.items():
        q = sample_quality(s, ref, modes=modes, mode_radius=0.2, seed=seed)
        out[f"w2_{k}"] = q.sliced_wasserstein
        out[f"near_{k}"] = q.near_mode_fraction
        out[f"shares_{k}"] = [round(v, 4) for v in q.mode_shares]
        out[f"min_share_{k}"] = min(q.mode_shares)
    s = snaps[extra]
    shares, _ = mode_shares(s, modes, radius=0.2)
    rgen = torch.Generator().manual_seed(seed)
    matched = _resample_by_shares(data.train, modes, shares, n, rgen)
    out["w2_shares"] = sliced_wasserstein(matched, ref, seed=seed)
    out["w2_shape"] = sliced_wasserstein(s, matched, seed=seed)
    out["floor"] = sliced_wasserstein(data.train[:n], ref, seed=seed)
    d = torch.cdist(s, modes)
    nearest = d.argmin(1)
    out["spread"] = float((s - modes[nearest]).std(0).mean())
    if not from_q:
        return out
    # cool-down from the heated training data instead of from p*
    with torch.no_grad():
        x = data.train[:n]
        traj = heat(model, x, model.num_steps, gen)
        sk = traj.states[-1]
        out["q_sK_std"] = [round(v, 3) for v in sk.std(0).tolist()]
        out["prior_std"] = [round(v, 3) for v in model.prior.var.sqrt().tolist()]
        for step in reversed(range(model.num_steps)):
            sk = model.transition(sk, step, gen)
        for _ in range(extra):
            sk = model.transition(sk, 0, gen)
    qshares, qnear = mode_shares(sk, modes, radius=0.2)
    out["shares_from_q"] = [round(v, 4) for v in qshares.tolist()]
    out["min_share_from_q"] = float(qshares.min())
    out["w2_from_q"] = sliced_wasserstein(sk, ref, seed=seed)
    return out


def run_seed(label: str, config: str, overrides: list[str], seed: int, root: Path,
             from_q: bool = True) -> dict:
    cfg = load_config(REPO / config, [*overrides, f"seed={seed}"])
    data, model = build_run(cfg, torch.device("cpu"))
    run = RunDir(root / label / f"seed{seed}")
    payload = load_checkpoint(run.checkpoint, "cpu") if run.checkpoint.is_file() else None
    if payload is not None and payload.get("finished", payload["step"] >= cfg.train.steps):
        model.load_state_dict(payload["model"])
        elapsed = payload["elapsed"]
    else:
        state = train(cfg, run, model, data, progress=False)
        elapsed = state.elapsed
    metrics = run.read_metrics()
    last = metrics[-1] if metrics else {}
    started = time.perf_counter()
    result = {"label": label, "seed": seed, "overrides": overrides, "config": config,
              "iterations": cfg.train.steps, "train_seconds": round(elapsed, 1),
              "final_loss": last.get("loss"),
              "angle_readout": last.get("alignment_angle_readout"),
              "angle_hidden": last.get("alignment_angle_hidden"),
              **diagnose(model, data, seed, from_q=from_q)}
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        ll = estimate_log_likelihood(model, data.valid[:500], [25, 100], gen)
    result.update(bound=ll.bound, is_loglik=ll.is_loglik,
                  is_by_trajectories=ll.is_by_trajectories)
    result["diag_seconds"] = round(time.perf_counter() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("label")
    parser.add_argument("config")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--no-q", dest="from_q", action="store_false",
                        help="Skip the cool-down from q(s_K) (the slowest part).")
    parser.add_argument("--root", type=Path, default=REPO / "results" / "sweep")
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        result = run_seed(args.label, args.config, args.overrides, seed, args.root, args.from_q)
        with open(args.root / "log.jsonl", "a") as fh:
            fh.write(json.dumps(result) + "\n")
        keys = ("bound", "is_loglik", "w2_1000", "w2_shares", "w2_shape", "floor", "near_1000",
                "min_share_1000",
                "min_share_from_q", "spread", "train_seconds")
        print(args.label, seed, {k: result.get(k) for k in keys}, flush=True)


if __name__ == "__main__":
    main()
