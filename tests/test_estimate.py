"""The training-time estimate that ``biovw train`` prints before it starts."""

from __future__ import annotations

import re

import pytest
import torch
from click.testing import CliRunner

from biovw import cli
from biovw.analysis.power import duration_text
from biovw.config import load_config
from biovw.runs.build import build_run
from biovw.runs.kinds import MODEL_KINDS

SMALL = {"circuits/rate_net.yaml": ["train.batch_size=64", "circuit.hidden=16",
                                    "walkback.num_steps=4", "data.n_samples=400"],
         "circuits/rbm_digits.yaml": ["rbm.hidden=16"]}


@pytest.mark.parametrize("config", list(SMALL))
def test_timing_an_iteration_leaves_the_model_and_every_generator_alone(config):
    cfg = load_config(config, SMALL[config])
    data, model = build_run(cfg, torch.device("cpu"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    seconds = MODEL_KINDS[cfg.model].seconds_per_iteration(cfg, model, data)
    assert 0 < seconds < 60
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_dry_run_states_the_estimate_and_it_grows_with_the_iterations():
    def estimate(steps):
        done = CliRunner().invoke(cli.main, ["train", "circuits/rate_net.yaml", "--dry-run",
                                             *[a for o in SMALL["circuits/rate_net.yaml"]
                                               for a in ("--set", o)],
                                             "--set", f"train.steps={steps}"])
        assert done.exit_code == 0, done.output
        return done

    short, long = estimate(10), estimate(10**12)
    assert re.search(r"training about [\d.]+ (s|min) \(from timed updates\)", short.stdout)
    assert "warning" not in short.stderr
    assert re.search(r"training about [\d.e+]+ years", long.stdout)
    (line,) = long.stderr.strip().splitlines()
    assert line.startswith("warning: training will take about") and "train.steps" in line


@pytest.mark.parametrize(("seconds", "text"), [
    (42, "42 s"), (210, "3.5 min"), (7.2 * 3600, "7.2 h"), (12 * 86400, "12 days"),
    (3.2e7 * 365.25 * 86400, "3.2e+07 years")])
def test_durations_read_in_the_unit_a_reader_expects(seconds, text):
    assert duration_text(seconds) == text
