"""Run the trained rate circuit described in ./circuit as a Brian2 network.

Written by ``biovw export`` beside the description (circuit/circuit.json, circuit/circuit.npz),
``rate_spec.py`` (reads the description) and ``brian_rate_network.py`` (builds and runs the
network; its docstring states the equations). Needs brian2 and numpy only::

    pip install brian2 'numpy<2.4'
    python simulate_circuit.py --chains 100 --steps 1000 --out states.npy
    python simulate_circuit.py --no-noise --target cpp_standalone --out states.npy

Each chain starts from a draw of the prior p* and cools down through the temperature schedule
(``--start FILE.npy`` gives the draws: ``biovw simulate`` saves its own beside its output, so
that this script retraces its chains), or starts at T = 1 from the rows of ``--initial
FILE.npy`` (as ``biovw sample`` and ``biovw simulate`` do with the same flag); it then runs
``--steps`` transitions at T = 1, and the states from the start at T = 1 on are saved as an
array [chains, steps + 1, D].
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from brian_rate_network import RECURRENCES, TARGETS, simulate
from rate_spec import RateSpec

HERE = Path(__file__).resolve().parent


def prior_draws(spec: RateSpec, n: int, seed: int) -> np.ndarray:
    """``n`` draws from the prior p* (diagonal Gaussian or independent Bernoulli), [n, D]."""
    rng = np.random.default_rng(seed)
    prior = spec.operator.prior
    if "probs" in prior:
        return (rng.random((n, prior["probs"].size)) < prior["probs"]).astype(np.float64)
    return prior["mean"] + np.sqrt(prior["var"]) * rng.standard_normal((n, prior["mean"].size))


def main() -> None:
    """Parse the command line, run the chains and save their states."""
    parser = argparse.ArgumentParser(description="Run the circuit in ./circuit with Brian2.")
    parser.add_argument("--chains", type=int, default=100, help="independent chains")
    parser.add_argument("--steps", type=int, default=1000, help="transitions at T = 1")
    parser.add_argument("--no-noise", action="store_true",
                        help="follow the kernel's mean (deterministic)")
    parser.add_argument("--target", choices=TARGETS, default="numpy",
                        help="Brian2 code generation target")
    parser.add_argument("--recurrence", choices=list(RECURRENCES), default="synapses",
                        help="recurrent input by Synapses or by a dense product")
    parser.add_argument("--seed", type=int, default=0, help="seed of p* draws and noise")
    parser.add_argument("--initial", help=".npy of states [chains, D] to start from at T = 1, "
                                          "with no cool-down (instead of draws from p*)")
    parser.add_argument("--start", help=".npy of draws from p* [chains, D] to cool down from "
                                        "(biovw simulate saves its own as OUT.start.npy)")
    parser.add_argument("--out", default="states.npy", help="output .npy")
    args = parser.parse_args()
    if args.start and args.initial:
        parser.error("give --start (cooled down) or --initial (at T = 1), not both")
    spec = RateSpec.load(HERE / "circuit")
    given = args.initial or args.start
    initial = np.load(given) if given else prior_draws(spec, args.chains, args.seed)
    states = simulate(spec, initial, args.steps, noise=not args.no_noise, target=args.target,
                      recurrence=args.recurrence, cool_down=args.initial is None,
                      seed=args.seed)
    np.save(args.out, states)
    print(f"wrote states {states.shape} to {args.out}")


if __name__ == "__main__":
    main()
