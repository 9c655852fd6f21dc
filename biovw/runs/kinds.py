"""The registry of model kinds: everything a run does that depends on ``model`` in its config.

:data:`MODEL_KINDS` maps the config's ``model`` (``walkback``, ``rbm`` or ``equilibrium``) to
an entry that builds, trains, evaluates, samples and analyses that kind of model and names what
it reports.
Code outside an entry never tests the kind's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from biovw.baselines.equilibrium import run_sampler as run_equilibrium_sampler
from biovw.circuits import RateCircuitSpec
from biovw.config import Config, ConfigError, EquilibriumConfig, RBMConfig
from biovw.data import DataSplits
from biovw.runs.analyze import Analysis, analyze_equilibrium, analyze_model, analyze_rbm
from biovw.runs.distributed import SINGLE, DataParallel
from biovw.runs.equilibrium import (
    build_equilibrium,
    chain_snapshots,
    check_equilibrium_data,
    evaluate_equilibrium,
    train_equilibrium,
)
from biovw.runs.equilibrium import seconds_per_epoch as equilibrium_seconds_per_epoch
from biovw.runs.equilibrium import start_states as equilibrium_start
from biovw.runs.evaluation import (
    Evaluation,
    draw_samples,
    evaluate_run,
    proposal_words,
    run_sampler,
)
from biovw.runs.labels import state_labels
from biovw.runs.rbm import (
    build_rbm,
    check_rbm_data,
    evaluate_rbm,
    gibbs_samples,
    seconds_per_epoch,
    train_rbm,
)
from biovw.runs.rundir import RunDir
from biovw.runs.train import seconds_per_iteration, train
from biovw.runs.walkback_model import build_model, model_size
from biovw.walkback import trajectories
from biovw.walkback.sampling import start_states


class ModelKind(Protocol):
    """What a model kind provides to the runs and the command line.

    Attributes
    ----------
    iterations_key : str
        Config key of the number of training iterations (``biovw resume --steps``).
    chain_steps : str
        What the sampler's steps past its start are called in reports.
    default_loglik_method : str or None
        How a run that predates recording its log-likelihood method was scored.
    data_parallel : bool
        Whether it trains data-parallel under ``torchrun`` (:mod:`biovw.runs.distributed`).
    """

    iterations_key: str
    chain_steps: str
    default_loglik_method: str | None
    data_parallel: bool

    def iterations(self, cfg: Config) -> int:
        """Number of training iterations (or epochs) the config asks for."""

    def check_data(self, cfg: Config, data: DataSplits) -> None:
        """Raise :class:`ConfigError` if the data do not suit the model."""

    def build(self, cfg: Config, data: DataSplits) -> nn.Module:
        """A freshly initialised model (on the CPU)."""

    def size(self, cfg: Config, dim: int) -> int:
        """About how many numbers the model's weights hold, before it is built."""

    def describe(self, cfg: Config) -> str:
        """What is built, in a word (``biovw train --dry-run``)."""

    def seconds_per_iteration(self, cfg: Config, model: nn.Module, data: DataSplits) -> float:
        """Wall seconds of one training iteration (or epoch), timed on a copy of ``model``
        without touching it or any generator a run uses."""

    def train(self, cfg: Config, run: RunDir, model: nn.Module, data: DataSplits, *,
              resume: bool = False, progress: bool | None = None,
              parallel: DataParallel = SINGLE) -> tuple[nn.Module, float]:
        """Train (or continue training) into ``run``; the trained model and the seconds."""

    def evaluate(self, cfg: Config, run: RunDir, model: nn.Module, data: DataSplits, seed: int,
                 *, progress: bool | None = None, n_examples: int | None = None,
                 n_trajectories: int | None = None, n_samples: int | None = None) -> Evaluation:
        """Held-out log-likelihood and samples, written as eval.json."""

    def evaluation_line(self, loglik: dict) -> str:
        """One line stating the held-out estimate of eval.json's ``loglik``."""

    def sampler_name(self, cfg: Config) -> str:
        """The chain that ``sample`` runs, in words."""

    def sample(self, cfg: Config, model: nn.Module, data: DataSplits, n: int, steps: int,
               seed: int, initial: Tensor | None = None, progress=None) -> Tensor:
        """``n`` samples, ``steps`` steps past the sampler's start, on the CPU; with
        ``initial`` ``[n, D]`` the chains start from those states (at T = 1, no cool-down).
        ``progress`` is called with the number of chains done after each batch of chains."""

    def run_chains(self, cfg: Config, model: nn.Module, data: DataSplits, n: int, steps: int,
                   seed: int, initial: Tensor | None = None) -> tuple[Tensor, int]:
        """States ``[n, steps + 1, D]`` of the sampler's chains from their start (or from
        ``initial``), on the CPU, and the operator transitions per step."""

    def snapshots(self, cfg: Config, model: nn.Module, data: DataSplits, n: int,
                  steps: list[int], seed: int,
                  initial: Tensor | None = None) -> dict[int, Tensor]:
        """States ``[n, D]`` of the sampler's chains after each of ``steps`` (0: the start),
        one set of chains advanced in turn, on the CPU."""

    def chain_words(self, cfg: Config, model: nn.Module) -> tuple[str, int]:
        """The chain ``snapshots`` runs, in words, and the operator transitions per step."""

    def analyze(self, cfg: Config, model: nn.Module, data: DataSplits, *, n_chains: int,
                n_steps: int, burn_in: int, bins: int, n_clusters: int, seed: int,
                current_bins: int | str = "auto") -> Analysis:
        """Entropy production and currents of the model's stationary chain (``bins`` per
        axis for the coarse-grained estimate, ``current_bins`` for the current field)."""

    def loss_curve(self, cfg: Config) -> dict[str, str]:
        """Which logged quantity the training figure shows (``key``, ``ylabel``, ``xlabel``)."""

    def training_summary(self, metrics: list[dict]) -> dict:
        """Fields of summary.json that come from the training log."""

    def circuit_spec(self, model: nn.Module) -> RateCircuitSpec | None:
        """Description of the model's recurrent circuit, if it has one."""

    def weight_fields(self, model: nn.Module) -> dict[str, np.ndarray]:
        """Named blocks of weights ``[units, D]`` onto or from the visible units, to show
        as images when the data are images."""

    def label(self, config: Mapping[str, Any]) -> str:
        """Short name of a run's model from its saved config.yaml (older runs included)."""


_FROZEN_LABELS = {"all": "W frozen", "hidden_rows": "hidden rows of W frozen",
                  "readout": "readout frozen"}




class WalkbackKind:
    """A circuit trained with Variational Walkback (config sections ``circuit``, ``rule``,
    ``walkback``, ``train``)."""

    iterations_key = "train.steps"
    chain_steps = "extra steps"
    default_loglik_method = "importance sampling"
    data_parallel = True

    def iterations(self, cfg: Config) -> int:
        return cfg.train.steps

    def check_data(self, cfg: Config, data: DataSplits) -> None:
        if cfg.walkback.operator == "bernoulli" and data.kind != "binary":
            raise ConfigError(
                "walkback.operator is 'bernoulli' but the data are continuous; "
                "set data.binarize: true or walkback.operator: gaussian"
            )

    def build(self, cfg: Config, data: DataSplits) -> nn.Module:
        return build_model(cfg, data.dim)

    def size(self, cfg: Config, dim: int) -> int:
        return model_size(cfg, dim)

    def describe(self, cfg: Config) -> str:
        return cfg.circuit.kind

    def seconds_per_iteration(self, cfg: Config, model: nn.Module, data: DataSplits) -> float:
        return seconds_per_iteration(cfg, model, data)

    def train(self, cfg: Config, run: RunDir, model: nn.Module, data: DataSplits, *,
              resume: bool = False, progress: bool | None = None,
              parallel: DataParallel = SINGLE) -> tuple[nn.Module, float]:
        return model, train(cfg, run, model, data, resume=resume, progress=progress,
                            parallel=parallel).elapsed

    def evaluate(self, cfg: Config, run: RunDir, model: nn.Module, data: DataSplits, seed: int,
                 *, progress: bool | None = None, n_examples: int | None = None,
                 n_trajectories: int | None = None, n_samples: int | None = None) -> Evaluation:
        return evaluate_run(cfg, run, model, data, seed, progress, n_examples, n_trajectories,
                            n_samples)

    def evaluation_line(self, loglik: dict) -> str:
        ll = loglik[loglik["split"]]
        rungs = ", ".join(f"{k}: {v['mean']:.3f}" for k, v in ll["is_by_trajectories"].items())
        verdict = "converged" if ll["converged"] else "NOT converged"
        return (f"{loglik['split']}: bound {ll['bound']:.3f} ± {ll['bound_se']:.3f}, "
                f"IS ({ll['n_trajectories']} trajectories{proposal_words(ll)}) "
                f"{ll['is_loglik']:.3f} ± "
                f"{ll['is_se']:.3f} nats/example, {verdict} (IS by trajectories {rungs}; "
                f"median ESS {ll['ess_median']:.1f})")

    def sampler_name(self, cfg: Config) -> str:
        return f"{cfg.eval.sampler} sampler"

    def sample(self, cfg: Config, model: nn.Module, data: DataSplits, n: int, steps: int,
               seed: int, initial: Tensor | None = None, progress=None) -> Tensor:
        return draw_samples(cfg, model, n, [steps], seed, progress, initial=initial)[steps]

    def run_chains(self, cfg: Config, model: nn.Module, data: DataSplits, n: int, steps: int,
                   seed: int, initial: Tensor | None = None) -> tuple[Tensor, int]:
        device = next(model.parameters()).device
        gen = torch.Generator(device=device).manual_seed(seed)
        sampler = run_sampler(cfg)
        start = start_states(model, n, gen, initial)
        return trajectories(model, start, steps, gen, sampler=sampler, cool=False), \
            sampler.transitions(model)

    def snapshots(self, cfg: Config, model: nn.Module, data: DataSplits, n: int,
                  steps: list[int], seed: int,
                  initial: Tensor | None = None) -> dict[int, Tensor]:
        return draw_samples(cfg, model, n, steps, seed, initial=initial,
                            sampler=run_sampler(cfg))

    def chain_words(self, cfg: Config, model: nn.Module) -> tuple[str, int]:
        sampler = run_sampler(cfg)
        return sampler.describe(model), sampler.transitions(model)

    def analyze(self, cfg: Config, model: nn.Module, data: DataSplits, *, n_chains: int,
                n_steps: int, burn_in: int, bins: int, n_clusters: int, seed: int,
                current_bins: int | str = "auto") -> Analysis:
        return analyze_model(model, n_chains=n_chains, n_steps=n_steps, burn_in=burn_in,
                             bins=bins, current_bins=current_bins, n_clusters=n_clusters,
                             seed=seed, labels=state_labels(cfg, data))

    def loss_curve(self, cfg: Config) -> dict[str, str]:
        return {"key": "loss", "ylabel": "negative bound (nats/example)", "xlabel": "iteration"}

    def training_summary(self, metrics: list[dict]) -> dict:
        return {"final_loss": metrics[-1]["loss"] if metrics else None}

    def circuit_spec(self, model: nn.Module) -> RateCircuitSpec | None:
        return model.circuit.spec()

    def weight_fields(self, model: nn.Module) -> dict[str, np.ndarray]:
        spec = model.circuit.spec()
        if spec is None:
            return {}
        d = spec.w_in.shape[1]
        return {"afferent: chain state -> hidden": spec.w_in,
                "readout: hidden -> visible": spec.weight[:d, d:].T}

    def label(self, config: Mapping[str, Any]) -> str:
        circuit = config.get("circuit") or {}
        kind = circuit.get("kind", "rate")
        if kind != "rate":
            return {"mlp": "VW MLP", "linear": "VW linear"}.get(kind, f"VW {kind}")
        traits = []
        if circuit.get("dale", True):
            traits.append("Dale")
        if circuit.get("symmetric", False):
            traits.append("symmetric")
        traits.append(str((config.get("rule") or {}).get("name", "backprop")))
        freeze = circuit.get("freeze", "all" if circuit.get("freeze_recurrent") else "none")
        if freeze != "none":
            traits.append(_FROZEN_LABELS.get(freeze, f"{freeze} frozen"))
        return f"VW rate circuit ({', '.join(traits)})"


class RBMKind:
    """A restricted Boltzmann machine baseline (config section ``rbm``)."""

    iterations_key = "rbm.epochs"
    chain_steps = "Gibbs steps"
    default_loglik_method = None
    data_parallel = False

    def iterations(self, cfg: Config) -> int:
        return cfg.rbm.epochs

    def check_data(self, cfg: Config, data: DataSplits) -> None:
        check_rbm_data(cfg, data)

    def build(self, cfg: Config, data: DataSplits) -> nn.Module:
        return build_rbm(cfg, data)

    def size(self, cfg: Config, dim: int) -> int:
        return dim * cfg.rbm.hidden + dim + cfg.rbm.hidden

    def describe(self, cfg: Config) -> str:
        return "RBM"

    def seconds_per_iteration(self, cfg: Config, model: nn.Module, data: DataSplits) -> float:
        return seconds_per_epoch(cfg, model, data)

    def train(self, cfg: Config, run: RunDir, model: nn.Module, data: DataSplits, *,
              resume: bool = False, progress: bool | None = None,
              parallel: DataParallel = SINGLE) -> tuple[nn.Module, float]:
        """RBMs train deterministically in seconds: a resumed run trains again from the
        start."""
        if resume:
            model = self.build(cfg, data).to(model.weight.device)
        return model, train_rbm(cfg, run, model, data, progress=progress)

    def evaluate(self, cfg: Config, run: RunDir, model: nn.Module, data: DataSplits, seed: int,
                 *, progress: bool | None = None, n_examples: int | None = None,
                 n_trajectories: int | None = None, n_samples: int | None = None) -> Evaluation:
        return evaluate_rbm(cfg, run, model, data, seed, n_examples, n_samples, progress)

    def evaluation_line(self, loglik: dict) -> str:
        ll = loglik[loglik["split"]]
        return (f"{loglik['split']}: log-likelihood ({loglik['method']}) {ll['mean']:.3f} ± "
                f"{ll['se']:.3f} nats/example")

    def sampler_name(self, cfg: Config) -> str:
        return "block Gibbs sampler"

    def sample(self, cfg: Config, model: nn.Module, data: DataSplits, n: int, steps: int,
               seed: int, initial: Tensor | None = None, progress=None) -> Tensor:
        """Block-Gibbs samples after ``steps`` steps (at least one; none from ``initial``)."""
        gen = torch.Generator(device=model.weight.device).manual_seed(seed)
        done = max(steps, 1) if initial is None else steps
        samples = gibbs_samples(model, data, n, [done], gen, initial)[done]
        if progress is not None:
            progress(n)
        return samples

    def run_chains(self, cfg: Config, model: nn.Module, data: DataSplits, n: int, steps: int,
                   seed: int, initial: Tensor | None = None) -> tuple[Tensor, int]:
        gen = torch.Generator(device=model.weight.device).manual_seed(seed)
        snaps = gibbs_samples(model, data, n, list(range(steps + 1)), gen, initial)
        return torch.stack([snaps[t] for t in range(steps + 1)], 1), 1

    def snapshots(self, cfg: Config, model: nn.Module, data: DataSplits, n: int,
                  steps: list[int], seed: int,
                  initial: Tensor | None = None) -> dict[int, Tensor]:
        """From ``initial`` or from the independent-unit fit of the training data."""
        gen = torch.Generator(device=model.weight.device).manual_seed(seed)
        return gibbs_samples(model, data, n, steps, gen, initial)

    def chain_words(self, cfg: Config, model: nn.Module) -> tuple[str, int]:
        return "the block Gibbs chain", 1

    def analyze(self, cfg: Config, model: nn.Module, data: DataSplits, *, n_chains: int,
                n_steps: int, burn_in: int, bins: int, n_clusters: int, seed: int,
                current_bins: int | str = "auto") -> Analysis:
        return analyze_rbm(model, data, n_chains=n_chains, n_steps=n_steps,
                           burn_in=max(burn_in, 1), bins=bins, current_bins=current_bins,
                           n_clusters=n_clusters, seed=seed, labels=state_labels(cfg, data))

    def loss_curve(self, cfg: Config) -> dict[str, str]:
        key = "pseudo_loglik" if cfg.rbm.visible == "bernoulli" else "recon_error"
        return {"key": key, "ylabel": key.replace("_", " "), "xlabel": "epoch"}

    def training_summary(self, metrics: list[dict]) -> dict:
        return {}

    def circuit_spec(self, model: nn.Module) -> RateCircuitSpec | None:
        return None

    def weight_fields(self, model: nn.Module) -> dict[str, np.ndarray]:
        return {"hidden units": model.weight.detach().cpu().numpy()}

    def label(self, config: Mapping[str, Any]) -> str:
        rbm = {**dataclasses.asdict(RBMConfig()), **(config.get("rbm") or {})}
        kind = "Gaussian-Bernoulli RBM" if rbm["visible"] == "gaussian" else "RBM"
        return f"{kind} ({str(rbm['method']).upper()}-{rbm['k']}, {rbm['hidden']} hidden)"


class EquilibriumKind:
    """The equilibrium circuit: a symmetric network with exact detailed balance (config
    section ``equilibrium``)."""

    iterations_key = "equilibrium.epochs"
    chain_steps = "sampler steps"
    default_loglik_method = None
    data_parallel = False

    def iterations(self, cfg: Config) -> int:
        return cfg.equilibrium.epochs

    def check_data(self, cfg: Config, data: DataSplits) -> None:
        check_equilibrium_data(cfg, data)

    def build(self, cfg: Config, data: DataSplits) -> nn.Module:
        return build_equilibrium(cfg, data)

    def size(self, cfg: Config, dim: int) -> int:
        e = cfg.equilibrium
        return e.groups * e.group_size * (dim + 1) + 2 * dim

    def describe(self, cfg: Config) -> str:
        return "equilibrium circuit"

    def seconds_per_iteration(self, cfg: Config, model: nn.Module, data: DataSplits) -> float:
        return equilibrium_seconds_per_epoch(cfg, model, data)

    def train(self, cfg: Config, run: RunDir, model: nn.Module, data: DataSplits, *,
              resume: bool = False, progress: bool | None = None,
              parallel: DataParallel = SINGLE) -> tuple[nn.Module, float]:
        """Training is deterministic and short: a resumed run trains again from the start."""
        if resume:
            model = self.build(cfg, data).to(model.weight.device)
        return model, train_equilibrium(cfg, run, model, data, progress=progress)

    def evaluate(self, cfg: Config, run: RunDir, model: nn.Module, data: DataSplits, seed: int,
                 *, progress: bool | None = None, n_examples: int | None = None,
                 n_trajectories: int | None = None, n_samples: int | None = None) -> Evaluation:
        return evaluate_equilibrium(cfg, run, model, data, seed, n_examples, n_samples,
                                    progress)

    def evaluation_line(self, loglik: dict) -> str:
        ll, sampler = loglik[loglik["split"]], loglik["sampler"]
        return (f"{loglik['split']}: log-likelihood (exact) {ll['mean']:.3f} ± {ll['se']:.3f} "
                f"nats/example; {sampler['name']} acceptance {sampler['acceptance']:.3f}")

    def sampler_name(self, cfg: Config) -> str:
        return {"gibbs": "block Gibbs sampler", "mala": "MALA sampler",
                "langevin": "unadjusted Langevin sampler"}[cfg.equilibrium.sampler]

    def sample(self, cfg: Config, model: nn.Module, data: DataSplits, n: int, steps: int,
               seed: int, initial: Tensor | None = None, progress=None) -> Tensor:
        """Samples ``steps`` steps past exact samples (or ``initial``)."""
        gen = torch.Generator(device=model.weight.device).manual_seed(seed)
        samples = chain_snapshots(cfg, model, n, [steps], gen, initial)[0][steps]
        if progress is not None:
            progress(n)
        return samples

    def run_chains(self, cfg: Config, model: nn.Module, data: DataSplits, n: int, steps: int,
                   seed: int, initial: Tensor | None = None) -> tuple[Tensor, int]:
        gen = torch.Generator(device=model.weight.device).manual_seed(seed)
        start = equilibrium_start(model, n, gen, initial)
        states, _ = run_equilibrium_sampler(model, cfg.equilibrium.sampler, start, steps, gen,
                                            record=True)
        return states.cpu(), 1

    def snapshots(self, cfg: Config, model: nn.Module, data: DataSplits, n: int,
                  steps: list[int], seed: int,
                  initial: Tensor | None = None) -> dict[int, Tensor]:
        """From exact samples or ``initial``."""
        gen = torch.Generator(device=model.weight.device).manual_seed(seed)
        return chain_snapshots(cfg, model, n, steps, gen, initial)[0]

    def chain_words(self, cfg: Config, model: nn.Module) -> tuple[str, int]:
        return f"the {self.sampler_name(cfg)}", 1

    def analyze(self, cfg: Config, model: nn.Module, data: DataSplits, *, n_chains: int,
                n_steps: int, burn_in: int, bins: int, n_clusters: int, seed: int,
                current_bins: int | str = "auto") -> Analysis:
        return analyze_equilibrium(model, cfg.equilibrium.sampler, n_chains=n_chains,
                                   n_steps=n_steps, burn_in=burn_in, bins=bins,
                                   current_bins=current_bins, n_clusters=n_clusters, seed=seed,
                                   labels=state_labels(cfg, data))

    def loss_curve(self, cfg: Config) -> dict[str, str]:
        return {"key": "train_loglik", "ylabel": "exact log-likelihood (nats/example)",
                "xlabel": "epoch"}

    def training_summary(self, metrics: list[dict]) -> dict:
        return {"final_train_loglik": metrics[-1]["train_loglik"] if metrics else None}

    def circuit_spec(self, model: nn.Module) -> RateCircuitSpec | None:
        return None

    def weight_fields(self, model: nn.Module) -> dict[str, np.ndarray]:
        return {"hidden units (symmetric weights)":
                model.weight.detach().reshape(-1, model.n_visible).cpu().numpy()}

    def label(self, config: Mapping[str, Any]) -> str:
        e = {**dataclasses.asdict(EquilibriumConfig()), **(config.get("equilibrium") or {})}
        return (f"equilibrium circuit ({e['sampler']}, {e['groups']}x{e['group_size']} "
                f"hidden)")


MODEL_KINDS: dict[str, ModelKind] = {"walkback": WalkbackKind(), "rbm": RBMKind(),
                                     "equilibrium": EquilibriumKind()}
"""``model`` of the config -> its entry."""
