"""The paper's configs: MNIST (bundled) trains, and the CIFAR-10, SVHN and CelebA configs train
on a generated stand-in of the array each expects from the user's file."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from biovw.cli import main
from biovw.config import load_config

CIRCUITS = Path(__file__).resolve().parents[1] / "circuits"
SHORT = ["train.steps=2", "train.log_every=1", "train.batch_size=8", "circuit.hidden=32",
         "eval.n_examples=4", "eval.n_trajectories=2", "eval.n_samples=8",
         "eval.snapshots=[0, 1]", "eval.batch_size=8"]
IMAGE_CONFIGS = {"cifar10_paper": (32, 32), "svhn_paper": (32, 32), "celeba_paper": (64, 64)}


def _train(config: Path, out: Path, overrides: list[str]) -> None:
    args = ["train", str(config), "--out", str(out), "--no-progress", "--threads", "1"]
    result = CliRunner().invoke(main, args + [a for o in overrides for a in ("--set", o)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", sorted(IMAGE_CONFIGS))
def test_image_config_trains_on_a_stand_in_of_its_data_file(name, tmp_path):
    cfg = yaml.safe_load((CIRCUITS / f"{name}.yaml").read_text())
    assert cfg["data"]["name"] == "file" and cfg["data"]["key"] == "images"
    assert cfg["walkback"]["num_steps"] == 30 and cfg["walkback"]["temperature_factor"] == 2
    h, w = IMAGE_CONFIGS[name]
    images = np.random.default_rng(0).random((64, h, w, 3), dtype=np.float32)
    np.savez(tmp_path / "stand_in.npz", images=images)
    out = tmp_path / "run"
    _train(CIRCUITS / f"{name}.yaml", out, [f"data.path={tmp_path / 'stand_in.npz'}", *SHORT])
    for figure in ("samples_vs_data.png", "chain_over_time.png", "walkback_path.png"):
        assert (out / "figures" / figure).stat().st_size > 0
    assert np.load(out / "samples" / "samples_step1.npy").shape == (8, h * w * 3)


@pytest.mark.parametrize("name", ["mnist_paper", "mnist_rate_fa"])
def test_mnist_config_trains(name, tmp_path):
    cfg = load_config(CIRCUITS / f"{name}.yaml")
    assert (cfg.data.name, cfg.data.binarize, cfg.walkback.operator) == ("mnist", True,
                                                                           "bernoulli")
    assert (cfg.walkback.num_steps, cfg.walkback.temperature_factor) == (5, 1.5)
    out = tmp_path / "run"
    _train(CIRCUITS / f"{name}.yaml", out, SHORT)
    assert (out / "figures" / "walkback_path.png").stat().st_size > 0


def test_mnist_continuous_variant_trains(tmp_path):
    """The override the config's comment gives for grey levels with a Gaussian operator."""
    _train(CIRCUITS / "mnist_paper.yaml", tmp_path / "run",
           ["data.binarize=false", "walkback.operator=gaussian", "walkback.sigma=0.1", *SHORT])


def test_colour_images_load_with_their_shape(tmp_path):
    from biovw.data import load_data

    np.save(tmp_path / "rgb.npy", np.random.default_rng(0).random((10, 4, 5, 3)))
    data = load_data("file", path=tmp_path / "rgb.npy")
    assert data.image_shape == (4, 5, 3) and data.dim == 60
