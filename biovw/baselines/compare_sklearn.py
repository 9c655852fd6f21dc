"""Speed and held-out likelihood of our Bernoulli RBM against scikit-learn's, trained with
the same algorithm in the same process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.neural_network import BernoulliRBM as SklearnRBM
from threadpoolctl import threadpool_limits

from biovw.baselines.partition import (
    MAX_ENUMERATED_UNITS,
    ais_log_partition,
    exact_log_partition,
    log_likelihood,
)
from biovw.baselines.rbm import BernoulliRBM
from biovw.baselines.training import fit_rbm


def from_sklearn(model: SklearnRBM) -> BernoulliRBM:
    """Our :class:`BernoulliRBM` holding a fitted scikit-learn model's parameters
    (``components_`` is ``W[hidden, visible]``), float32 on the CPU."""
    w = torch.as_tensor(np.asarray(model.components_), dtype=torch.float32)
    rbm = BernoulliRBM(w.shape[1], w.shape[0])
    with torch.no_grad():
        rbm.weight.copy_(w)
        rbm.hidden_bias.copy_(torch.as_tensor(np.asarray(model.intercept_hidden_)))
        rbm.visible_bias.copy_(torch.as_tensor(np.asarray(model.intercept_visible_)))
    return rbm


def _evaluate(
    rbm: BernoulliRBM,
    test: torch.Tensor,
    base_rates: torch.Tensor,
    n_betas: int,
    n_runs: int,
    seed: int,
) -> dict:
    gen = torch.Generator(device=rbm.weight.device).manual_seed(seed)
    ais = ais_log_partition(
        rbm, n_betas=n_betas, n_runs=n_runs, base_rates=base_rates, generator=gen
    )
    out = {"ais": ais.to_dict(), "test_loglik_ais": log_likelihood(rbm, test, ais).to_dict()}
    if min(rbm.n_visible, rbm.n_hidden) <= MAX_ENUMERATED_UNITS:
        log_z = exact_log_partition(rbm)
        out["log_z_exact"] = log_z
        out["test_loglik_exact"] = log_likelihood(rbm, test, log_z).to_dict()
    return out


def time_against_sklearn(
    data: np.ndarray,
    *,
    n_hidden: int = 64,
    batch_size: int = 10,
    lr: float = 0.1,
    epochs: int = 10,
    seed: int = 0,
    test_fraction: float = 0.2,
    ais_betas: int = 10000,
    ais_runs: int = 100,
    threads: int | None = 1,
) -> dict:
    """Train scikit-learn's ``BernoulliRBM`` and ours on the same binary data and compare.

    Both use scikit-learn's algorithm: PCD with one Gibbs step per update and as many
    persistent chains as the batch size, plain SGD (no momentum, no weight decay) on
    batch-mean gradients, ``W ~ N(0, 0.01^2)`` and zero biases at the start. Differences:
    scikit-learn visits the batches in a fixed order and starts its chains from ``h = 0``;
    ours reshuffles each epoch and starts the chains at training examples. Both run in
    float32 on the CPU. Held-out log-likelihoods use our AIS for both models (scikit-learn's
    fitted ``components_``, ``intercept_hidden_`` and ``intercept_visible_`` loaded into
    our model), and exact ``log Z`` too when a layer has at most 20 units.

    Parameters
    ----------
    data : ndarray
        Binary examples, [n, n_visible].
    n_hidden, batch_size, lr, epochs, seed
        Shared training settings (scikit-learn's ``n_components``, ``batch_size``,
        ``learning_rate``, ``n_iter``, ``random_state``).
    test_fraction : float
        Share of the rows held out (a seeded random split).
    ais_betas, ais_runs : int
        AIS annealing steps and runs per model.
    threads : int or None
        CPU threads for both libraries during the call (torch's intra-op threads and the
        BLAS/OpenMP pools, restored afterwards); None leaves them as they are. One thread
        is the default because the matrices are small.

    Returns
    -------
    dict
        ``sklearn_seconds_per_epoch``, ``ours_seconds_per_epoch`` (wall-clock of each
        ``fit`` divided by the epochs), ``ratio`` (ours / scikit-learn), ``sklearn`` and
        ``ours`` (AIS estimate, held-out log-likelihood, exact values where feasible), and
        the settings.
    """
    with _limit_threads(threads):
        return _compare(
            data, n_hidden, batch_size, lr, epochs, seed, test_fraction, ais_betas, ais_runs
        )


@contextmanager
def _limit_threads(threads: int | None) -> Iterator[None]:
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(previous)


def _compare(
    data: np.ndarray,
    n_hidden: int,
    batch_size: int,
    lr: float,
    epochs: int,
    seed: int,
    test_fraction: float,
    ais_betas: int,
    ais_runs: int,
) -> dict:
    x = np.asarray(data, dtype=np.float32)
    if x.ndim != 2 or not np.isin(x, (0.0, 1.0)).all():
        raise ValueError("data must be a 2-D array of 0/1 values")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    perm = np.random.default_rng(seed).permutation(x.shape[0])
    n_test = max(1, int(round(test_fraction * x.shape[0])))
    test_np, train_np = x[perm[:n_test]], x[perm[n_test:]]

    sk = SklearnRBM(
        n_components=n_hidden,
        learning_rate=lr,
        batch_size=batch_size,
        n_iter=epochs,
        random_state=seed,
    )
    t0 = time.perf_counter()
    sk.fit(train_np)
    sk_seconds = time.perf_counter() - t0

    train, test = torch.from_numpy(train_np), torch.from_numpy(test_np)
    ours = BernoulliRBM(x.shape[1], n_hidden, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    history = fit_rbm(
        ours,
        train,
        method="pcd",
        k=1,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        momentum=0.0,
        weight_decay=0.0,
        generator=gen,
        n_persistent=batch_size,
        monitor=False,
    )
    ours_seconds = time.perf_counter() - t0

    base_rates = train.mean(0)
    sk_eval = _evaluate(from_sklearn(sk), test, base_rates, ais_betas, ais_runs, seed + 1)
    ours_eval = _evaluate(ours, test, base_rates, ais_betas, ais_runs, seed + 1)
    sk_per_epoch = sk_seconds / max(epochs, 1)
    ours_per_epoch = ours_seconds / max(epochs, 1)
    return {
        "sklearn_seconds_per_epoch": sk_per_epoch,
        "ours_seconds_per_epoch": ours_per_epoch,
        "ours_update_seconds_per_epoch": history.seconds_per_epoch,
        "ratio": ours_per_epoch / sk_per_epoch,
        "sklearn": sk_eval,
        "ours": ours_eval,
        "settings": {
            "n_train": int(train_np.shape[0]),
            "n_test": int(test_np.shape[0]),
            "n_visible": int(x.shape[1]),
            "n_hidden": n_hidden,
            "batch_size": batch_size,
            "lr": lr,
            "epochs": epochs,
            "seed": seed,
            "method": "pcd",
            "k": 1,
            "ais_betas": ais_betas,
            "ais_runs": ais_runs,
            "torch_threads": torch.get_num_threads(),
            "dtype": "float32",
        },
    }
