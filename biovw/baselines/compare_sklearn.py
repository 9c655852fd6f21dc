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
    n_hidden: int = 256,
    batch_size: int = 10,
    lr: float = 0.1,
    epochs: int = 10,
    seed: int = 0,
    test_fraction: float = 0.2,
    ais_betas: int = 10000,
    ais_runs: int = 100,
    threads: int | None = 1,
    repeats: int = 1,
) -> dict:
    """Train scikit-learn's ``BernoulliRBM`` and ours on the same binary data and compare.

    Both use scikit-learn's algorithm: PCD with one Gibbs step per update and as many
    persistent chains as the batch size, plain SGD (no momentum, no weight decay) on
    batch-mean gradients, ``W ~ N(0, 0.01^2)`` and zero biases at the start. Differences:
    scikit-learn visits the batches in a fixed order, starts its chains from ``h = 0`` and
    samples the chains' next hidden states from the probabilities of the gradient pass (one
    update old); ours reshuffles each epoch, starts the chains at training examples and
    recomputes ``p(h | v)`` with the current parameters. Both run in float32 on the CPU.
    Held-out log-likelihoods use our AIS for both models (scikit-learn's fitted
    ``components_``, ``intercept_hidden_`` and ``intercept_visible_`` loaded into our model),
    and exact ``log Z`` too when a layer has at most 20 units.

    Parameters
    ----------
    data : ndarray
        Binary examples, [n, n_visible].
    n_hidden, batch_size, lr, epochs, seed
        Shared training settings (scikit-learn's ``n_components``, ``batch_size``,
        ``learning_rate``, ``n_iter``, ``random_state``); the defaults are scikit-learn's.
    test_fraction : float
        Share of the rows held out (a seeded random split).
    ais_betas, ais_runs : int
        AIS annealing steps and runs per model.
    threads : int or None
        CPU threads for both libraries during the call (torch's intra-op threads and the
        BLAS/OpenMP pools, restored afterwards); None leaves them as they are. One thread
        is the default because the matrices are small.
    repeats : int
        Timed fits of each library, interleaved (the library that goes first alternates) so
        that both see the same machine load; the times reported are medians.

    Returns
    -------
    dict
        ``sklearn_seconds_per_epoch``, ``ours_seconds_per_epoch`` (median over the repeats of
        the wall-clock of each ``fit`` divided by the epochs), ``ratio`` (ours / scikit-learn
        of those medians), the per-repeat times and ratios (``*_runs``), ``sklearn`` and
        ``ours`` (AIS estimate, held-out log-likelihood, exact values where feasible, of the
        models of the last repeat), and the settings.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    with _limit_threads(threads):
        return _compare(
            data, n_hidden, batch_size, lr, epochs, seed, test_fraction, ais_betas, ais_runs,
            repeats,
        )


def bench_rbm(quick: bool = False) -> dict:
    """:func:`time_against_sklearn` at scikit-learn's defaults (256 hidden units, batches of
    10, learning rate 0.1, 10 epochs, 5 repeats) on the binarized digits
    (``load_digits().data / 16 > 0.5``, 64 visible units); ``quick`` trains 2 epochs with
    3 repeats and a small AIS (1000 annealing steps, 20 runs)."""
    from sklearn.datasets import load_digits

    x = (load_digits().data / 16.0 > 0.5).astype(np.float32)
    if quick:
        out = time_against_sklearn(x, epochs=2, ais_betas=1000, ais_runs=20, repeats=3)
    else:
        out = time_against_sklearn(x, repeats=5)
    out["data"] = "sklearn digits, binarized at x / 16 > 0.5"
    return out


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


def _fit_sklearn(
    train: np.ndarray, n_hidden: int, batch_size: int, lr: float, epochs: int, seed: int
) -> tuple[SklearnRBM, float]:
    model = SklearnRBM(
        n_components=n_hidden,
        learning_rate=lr,
        batch_size=batch_size,
        n_iter=epochs,
        random_state=seed,
    )
    t0 = time.perf_counter()
    model.fit(train)
    return model, time.perf_counter() - t0


def _fit_ours(
    train: torch.Tensor, n_hidden: int, batch_size: int, lr: float, epochs: int, seed: int
) -> tuple[BernoulliRBM, float, float]:
    t0 = time.perf_counter()
    model = BernoulliRBM(train.shape[1], n_hidden, seed=seed)
    history = fit_rbm(
        model,
        train,
        method="pcd",
        k=1,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        momentum=0.0,
        weight_decay=0.0,
        generator=torch.Generator().manual_seed(seed),
        n_persistent=batch_size,
        monitor=False,
    )
    return model, time.perf_counter() - t0, history.seconds_per_epoch


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
    repeats: int,
) -> dict:
    x = np.asarray(data, dtype=np.float32)
    if x.ndim != 2 or not np.isin(x, (0.0, 1.0)).all():
        raise ValueError("data must be a 2-D array of 0/1 values")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    perm = np.random.default_rng(seed).permutation(x.shape[0])
    n_test = max(1, int(round(test_fraction * x.shape[0])))
    test_np, train_np = x[perm[:n_test]], x[perm[n_test:]]
    train, test = torch.from_numpy(train_np), torch.from_numpy(test_np)
    settings = (n_hidden, batch_size, lr, epochs, seed)

    per_epoch = max(epochs, 1)
    sk_times, our_times, our_update_times = [], [], []
    for r in range(repeats):
        for library in ("sklearn", "ours") if r % 2 == 0 else ("ours", "sklearn"):
            if library == "sklearn":
                sk, seconds = _fit_sklearn(train_np, *settings)
                sk_times.append(seconds / per_epoch)
            else:
                ours, seconds, update_seconds = _fit_ours(train, *settings)
                our_times.append(seconds / per_epoch)
                our_update_times.append(update_seconds)

    base_rates = train.mean(0)
    sk_eval = _evaluate(from_sklearn(sk), test, base_rates, ais_betas, ais_runs, seed + 1)
    ours_eval = _evaluate(ours, test, base_rates, ais_betas, ais_runs, seed + 1)
    sk_per_epoch = float(np.median(sk_times))
    ours_per_epoch = float(np.median(our_times))
    return {
        "sklearn_seconds_per_epoch": sk_per_epoch,
        "ours_seconds_per_epoch": ours_per_epoch,
        "ours_update_seconds_per_epoch": float(np.median(our_update_times)),
        "ratio": ours_per_epoch / sk_per_epoch,
        "sklearn_seconds_per_epoch_runs": sk_times,
        "ours_seconds_per_epoch_runs": our_times,
        "ratio_runs": [o / s for o, s in zip(our_times, sk_times, strict=True)],
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
            "repeats": repeats,
            "torch_threads": torch.get_num_threads(),
            "dtype": "float32",
        },
    }
