"""The run figures a lab meeting sees: a log-scale loss, legends outside the data, mathtext
subscripts and axes that hold the walk-back paths. Each figure is drawn from synthetic
inputs and inspected before it is written."""

from __future__ import annotations

import numpy as np
import pytest

from biovw.plots import samples, training, walk


def _metrics(values):
    return [{"step": 10 * (i + 1), "loss": v, "heldout_loss": v * 1.1}
            for i, v in enumerate(values)]


def test_the_loss_is_on_a_log_scale_and_counts_its_logged_points(drawn, tmp_path):
    training.loss_curve(_metrics(np.geomspace(40, 0.3, 90)), tmp_path / "loss.png")
    ax = drawn[-1].axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "training: negative bound, 90 logged points"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "training batch", "held-out batch (validation split)"]
    training.loss_curve(_metrics(np.linspace(5, -2, 30)), tmp_path / "loss2.png")
    assert drawn[-1].axes[0].get_yscale() == "symlog"  # a bound above zero still shows


def test_the_alignment_figure_shows_the_blocks_and_not_all_of_w_behind_them(drawn, tmp_path):
    blocks = {f"alignment_angle{b}": 80.0 - i for i, b in enumerate(("", "_readout", "_hidden"))}
    best = {k.replace("angle", "best_given_signs"): 45.0 for k in blocks}
    metrics = [{"step": 10 * (i + 1), **blocks, **best} for i in range(5)]
    training.alignment_curves(metrics, tmp_path / "alignment.png")
    fig = drawn[-1]
    assert fig.axes[0].get_legend() is None and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "hidden -> visible (readout)",
        "hidden -> visible (readout): best angle given Dale's signs", "hidden -> hidden",
        "hidden -> hidden: best angle given Dale's signs", "90 degrees: B unrelated to W"]
    only_all = [{"step": m["step"], "alignment_angle": 70.0} for m in metrics]
    training.alignment_curves(only_all, tmp_path / "alignment_all.png")
    labels = [t.get_text() for t in drawn[-1].legends[0].get_texts()]
    assert labels == ["all of W", "90 degrees: B unrelated to W"]


def test_the_walk_back_paths_stay_inside_the_axes_and_the_legend_outside(drawn, tmp_path):
    rng = np.random.default_rng(0)
    heating = np.cumsum(rng.normal(size=(21, 5, 2)), axis=0)  # wanders far from the data
    cooling = rng.normal(scale=4, size=(21, 5, 2))
    reference = rng.normal(scale=0.3, size=(200, 2))
    walk.walk_figure(heating, cooling, list(np.geomspace(1, 146, 20)), None,
                     tmp_path / "walk.png", reference=reference)
    fig = drawn[-1]
    ax = fig.axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    points = np.concatenate([heating.reshape(-1, 2), cooling.reshape(-1, 2)])
    assert (points[:, 0] >= x0).all() and (points[:, 0] <= x1).all()
    assert (points[:, 1] >= y0).all() and (points[:, 1] <= y1).all()
    assert ax.get_legend() is None and len(fig.legends) == 1
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "sample at $T_1$" in labels and "T_1" not in ax.get_title().replace("$T_1$", "")


def test_the_chain_over_time_keeps_its_legend_off_the_samples(drawn, tmp_path):
    rng = np.random.default_rng(1)
    snapshots = {k: rng.normal(size=(300, 2)) for k in (0, 10, 100)}
    samples.chain_over_time(snapshots, None, tmp_path / "chain.png",
                            reference=rng.normal(size=(100, 2)))
    fig = drawn[-1]
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "held-out data (n = 100)", "samples (n = 300)"]
    assert [ax.get_title() for ax in fig.axes] == [
        "after 0 extra steps", "after 10 extra steps", "after 100 extra steps"]


def _ar(A, rng, n=20000, chains=8):
    x = np.zeros((chains, n, 2))
    for t in range(1, n):
        x[:, t] = x[:, t - 1] @ A.T + rng.normal(size=(chains, 2))
    return x


def test_current_arrows_mark_only_bins_whose_current_differs_from_zero():
    """Under detailed balance (a symmetric AR(1)) about 5% of well-visited bins pass the
    test, within binomial noise; with a rotation (a non-normal drift) nearly all do."""
    from biovw.analysis import probability_current_grid

    rng = np.random.default_rng(0)
    symmetric = np.array([[0.8, 0.1], [0.1, 0.5]])
    passed = []
    for _ in range(4):
        field = probability_current_grid(_ar(symmetric, rng), bins=12)
        visited = field.counts >= 30
        passed += list(field.significant()[visited])
    rate, n = float(np.mean(passed)), len(passed)
    assert rate <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / n)
    angle = 0.4
    rotation = 0.8 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    field = probability_current_grid(_ar(rotation, rng), bins=12)
    visited = field.counts >= 30
    assert field.significant()[visited].mean() > 0.8


def test_the_conditions_of_one_recording_share_one_arrow_key(drawn, tmp_path):
    from biovw.analysis import probability_current_grid
    from biovw.plots import currents

    rng = np.random.default_rng(2)
    rotation = 0.8 * np.array([[0.9, -0.44], [0.44, 0.9]])
    strong = probability_current_grid(_ar(rotation, rng, n=5000), bins=10)
    weak = probability_current_grid(_ar(rotation * 0.5, rng, n=5000), bins=10)
    scale = currents.arrow_scale([strong, weak])
    assert scale == currents.arrow_scale([strong])  # the larger field sets the key
    for field in (strong, weak):
        currents.current_field(field, tmp_path / "c.png", scale=scale)
    quivers = [c for fig in drawn[-2:] for c in fig.axes[0].collections if hasattr(c, "U")]
    widths = [f.x_edges[1] - f.x_edges[0] for f in (strong, weak)]
    assert len(quivers) == 2  # an arrow one bin long stands for ``scale`` in both figures
    assert [q.scale * w for q, w in zip(quivers, widths, strict=True)] == pytest.approx(
        [scale, scale])
