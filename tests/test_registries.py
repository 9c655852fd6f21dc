"""Registries replace branching on names: the config offers exactly what they hold, and choices
that only clash in combination are refused where the model is built."""

import pytest
from click.testing import CliRunner

from biovw.baselines.equilibrium import SAMPLERS as EQUILIBRIUM_SAMPLERS
from biovw.circuits.rate import FREEZE_ROWS, NONLINEARITIES
from biovw.cli import main
from biovw.config import CHOICES, ConfigError, config_from_dict
from biovw.data import DATASETS
from biovw.rules import RULES
from biovw.runs import CIRCUITS, MODEL_KINDS, build_model
from biovw.runs.equilibrium import GRADIENTS
from biovw.spec import NONLINEARITY_NAMES, OPERATOR_KINDS
from biovw.walkback import OPERATORS, SAMPLERS


def test_config_choices_are_the_registry_keys():
    registries = {
        "model": MODEL_KINDS, "data.name": DATASETS, "circuit.kind": CIRCUITS,
        "rule.name": RULES, "walkback.operator": OPERATORS, "eval.sampler": SAMPLERS,
        "circuit.nonlinearity": NONLINEARITIES, "circuit.freeze": FREEZE_ROWS,
        "equilibrium.sampler": EQUILIBRIUM_SAMPLERS, "equilibrium.method": GRADIENTS,
    }
    for field, registry in registries.items():
        assert CHOICES[field] == tuple(registry), field
    assert NONLINEARITY_NAMES == tuple(NONLINEARITIES)  # what a circuit description may name
    assert OPERATOR_KINDS == tuple(OPERATORS)


@pytest.mark.parametrize(("raw", "field"), [
    ({"rule": {"name": "fa"}, "circuit": {"kind": "mlp"}}, "rule.name"),
    ({"rule": {"name": "dfa"}, "circuit": {"kind": "linear"}}, "rule.name"),
    ({"rule": {"name": "kp"}, "circuit": {"freeze": "all"}}, "rule.name"),
    ({"circuit": {"kind": "mlp", "freeze": "readout"}}, "circuit.freeze"),
])
def test_clashing_choices_are_refused_when_the_model_is_built(raw, field):
    cfg = config_from_dict(raw)  # each choice is valid on its own
    with pytest.raises(ConfigError) as err:
        build_model(cfg, 2)
    assert field in str(err.value) and "\n" not in str(err.value)


def test_clashing_choices_stop_the_command_line_before_anything_is_written(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", "circuits/rate_net.yaml", "--set",
                                       "circuit.kind=mlp", "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: rule.name 'fa' needs circuit.kind: rate "
                                     "(got 'mlp')")
    assert not out.exists()


def test_command_line_choices_of_simulate_are_the_registries():
    from biovw import brian, cli

    assert cli.BRIAN_TARGETS == tuple(brian.TARGETS)
    assert cli.BRIAN_RECURRENCES == tuple(brian.RECURRENCES)
