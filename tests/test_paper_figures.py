"""The paper's figures: the walk-back path (images in rows, or paths in the plane), colour image
grids and the stationarity curves each write a non-empty PNG with labelled axes."""

import numpy as np
import pytest

from biovw import plots

K = 5
TEMPERATURES = list(1.5 ** np.arange(K))


@pytest.fixture
def drawn(monkeypatch):
    """Every figure the plotting functions save, with its texts, still written to disk."""
    from biovw.plots import figure as figure_module

    texts = []
    real = figure_module.save_figure

    def keep(fig, path):
        parts = [fig._suptitle.get_text() if fig._suptitle else ""]
        for ax in fig.axes:
            parts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
            if ax.get_legend() is not None:
                parts += [t.get_text() for t in ax.get_legend().get_texts()]
        for legend in fig.legends:
            parts += [t.get_text() for t in legend.get_texts()]
        texts.append("\n".join(p for p in parts if p))
        return real(fig, path)

    for module in ("samples", "walk", "stationarity"):
        monkeypatch.setattr(f"biovw.plots.{module}.save_figure", keep)
    return texts


def _png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    return path


@pytest.mark.parametrize("shape", [(8, 8), (6, 6, 3)])
def test_walk_figure_of_images_is_two_labelled_rows(shape, tmp_path, drawn):
    rng = np.random.default_rng(0)
    states = rng.random((K + 1, 1, int(np.prod(shape))))
    _png(plots.walk_figure(states, states, TEMPERATURES, shape, tmp_path / "walk.png"))
    text = drawn[-1]
    assert "heating" in text and "cooling" in text and "$s_0$ = data" in text
    assert "~ p*" in text and "T=5.06" in text
    assert ("RGB" in text) == (len(shape) == 3)


def test_walk_figure_in_the_plane_has_paths_and_legend(tmp_path, drawn):
    rng = np.random.default_rng(1)
    heating, cooling = rng.normal(size=(2, K + 1, 3, 2))
    _png(plots.walk_figure(heating, cooling, TEMPERATURES, None, tmp_path / "walk.png",
                           reference=rng.normal(size=(50, 2))))
    text = drawn[-1]
    for label in ("heating: data -> noise", "cooling: p* -> sample", "held-out data (n = 50)",
                  "sample at $T_1$", "(data units)", "$K$ = 5"):
        assert label in text


def test_walk_figure_of_one_dimensional_data_is_state_against_step(tmp_path, drawn):
    """Found by the property suite: one-dimensional data has no plane to draw paths in."""
    rng = np.random.default_rng(2)
    heating, cooling = rng.normal(size=(2, K + 1, 3, 1))
    _png(plots.walk_figure(heating, cooling, TEMPERATURES, None, tmp_path / "walk.png",
                           reference=rng.normal(size=(40, 1))))
    text = drawn[-1]
    for label in ("heating: data -> noise", "cooling: p* -> sample", "temperature step",
                  "held-out (n = 40)", "(data units)"):
        assert label in text


def test_colour_image_grids_per_step_count(tmp_path, drawn):
    rng = np.random.default_rng(2)
    snaps = {0: rng.random((10, 48)), 100: rng.random((10, 48))}
    _png(plots.chain_over_time(snaps, (4, 4, 3), tmp_path / "chain.png"))
    assert "after 0 extra steps" in drawn[-1] and "after 100 extra steps" in drawn[-1]
    assert "4 x 4 RGB pixels each" in drawn[-1]


def test_stationarity_curves_show_noise_and_verdict(tmp_path, drawn):
    steps = [0, 10, 100]
    metric = {"mean": 0.2, "sd": 0.01, "values": [0.19, 0.21]}
    change = {"first": 0.2, "last": 0.2, "diff": 0.0, "se": 0.01, "ci_low": -0.02,
              "ci_high": 0.02, "worse": False}
    report = {"steps": steps, "n_chains": 40, "n_groups": 2,
              "groups": {str(s): {"sliced_wasserstein": metric, "mmd": metric} for s in steps},
              "quality": {}, "floor": {"sliced_wasserstein": metric, "mmd": metric},
              "change": {"sliced_wasserstein": change, "mmd": change},
              "verdict": "quality after 100 steps no worse than after 0 beyond noise"}
    _png(plots.stationarity_curves(report, tmp_path / "stationarity.png"))
    text = drawn[-1]
    assert "no worse than after 0 beyond noise" in text and "sliced W2" in text
    assert "2 groups of 20 chains" in text and "data floor: groups of 20 training" in text
    assert "sampler steps from the start" in text
