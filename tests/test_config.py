"""Config validation: one-line errors naming the field; overrides; round trip."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from biovw.config import ConfigError, config_from_dict, load_config, save_config


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"train": {"stepz": 3}}, "train.stepz"),
        ({"bogus": {}}, "bogus"),
        ({"train": {"steps": "many"}}, "train.steps"),
        ({"train": {"steps": 2.5}}, "train.steps"),
        ({"walkback": {"kappa": 1.3}}, "walkback.kappa"),
        ({"circuit": {"ei_ratio": 1.3}}, "circuit.ei_ratio"),
        ({"circuit": {"kind": "transformer"}}, "circuit.kind"),
        ({"circuit": {"dale": "yes"}}, "circuit.dale"),
        ({"walkback": {"sigma": -1}}, "walkback.sigma"),
        ({"eval": {"snapshots": [0, -3]}}, "eval.snapshots"),
        ({"data": {"name": "file"}}, "data.path"),
        ({"data": {"name": "file", "path": "/nonexistent/x.npy"}}, "data.path"),
        ({"data": {"valid_fraction": 0.5, "test_fraction": 0.6}}, "data.valid_fraction"),
        ({"circuit": {"symmetric": True, "dale": True}}, "circuit.symmetric"),
        ({"train": []}, "train"),
        ({"rule": {"name": "hebb"}}, "rule.name"),
        ({"circuit": {"freeze": "rows"}}, "circuit.freeze"),
        ({"circuit": {"freeze_recurrent": True}}, "circuit.freeze"),
        ({"model": "vae"}, "model"),
        ({"model": "rbm", "rbm": {"method": "ml"}}, "rbm.method"),
        ({"rbm": {"hidden": 0}}, "rbm.hidden"),
    ],
)
def test_invalid_config_names_the_field(raw, field):
    with pytest.raises(ConfigError) as err:
        config_from_dict(raw)
    message = str(err.value)
    assert field in message
    assert "\n" not in message


def test_overrides_parse_yaml_values_and_validate():
    cfg = config_from_dict({}, ["train.steps=7", "circuit.dale=false", "eval.snapshots=[0, 5]"])
    assert cfg.train.steps == 7 and cfg.circuit.dale is False and cfg.eval.snapshots == [0, 5]
    with pytest.raises(ConfigError, match="train.lr"):
        config_from_dict({}, ["train.lr=-1"])
    with pytest.raises(ConfigError, match="section.key=value"):
        config_from_dict({}, ["train.steps"])


def test_ints_are_accepted_for_floats_and_defaults_fill_in():
    cfg = config_from_dict({"walkback": {"sigma": 1}})
    assert isinstance(cfg.walkback.sigma, float)
    assert cfg.train.batch_size == 256


def test_round_trip_and_name_from_file(tmp_path):
    path = tmp_path / "my_run.yaml"
    path.write_text(yaml.safe_dump({"train": {"steps": 11}}))
    cfg = load_config(path)
    assert cfg.name == "my_run" and cfg.train.steps == 11
    save_config(cfg, tmp_path / "out.yaml")
    assert load_config(tmp_path / "out.yaml") == cfg


def test_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_shipped_configs_are_valid():
    from pathlib import Path

    configs = sorted(Path(__file__).parents[1].joinpath("circuits").glob("*.yaml"))
    assert configs
    for path in configs:
        raw = yaml.safe_load(path.read_text())
        if raw.get("data", {}).get("name") == "file":
            # arrays the user saves locally (tests/test_paper_configs.py trains these on
            # stand-ins): everything else in the config must be valid
            with pytest.raises(ConfigError, match="^data.path: file not found"):
                load_config(path)
            continue
        load_config(path)


def test_a_config_of_non_text_bytes_is_refused_in_one_line(tmp_path):
    path = tmp_path / "bytes.yaml"
    path.write_bytes(b"\xff\xfe\x00train: {steps: 3}")
    with pytest.raises(ConfigError, match=r"bytes.yaml: not a text file \(byte 0 is not UTF-8\)$"):
        load_config(path)


def test_a_model_too_large_for_memory_is_refused_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "biovw", "train", "circuits/rate_net.yaml",
                           "--set", "circuit.hidden=1000000000", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "GiB, more than this machine" in proc.stderr
    assert not (tmp_path / "run").exists()
