"""Natural image patches: cut, split by region and whitened as documented."""

import numpy as np
import pytest

from biovw.data import DataError, load_data
from biovw.data.patches import (
    WHITENING_FLOOR,
    _bands,
    grey_photographs,
    image_patches,
    whitening,
)
from tests.cli_support import invoke


def test_patches_are_the_image_windows_at_the_stride():
    image = np.arange(7 * 9, dtype=float).reshape(7, 9)
    found = image_patches(image, 3, 2)
    expected = [image[r:r + 3, c:c + 3].ravel() for r in range(0, 5, 2) for c in range(0, 7, 2)]
    assert np.array_equal(found, np.array(expected))


def test_bands_cover_the_columns_in_order_without_overlap():
    bands = _bands(640, 0.15, 0.15)
    assert [b.start for b in bands] == [0, bands[0].stop, bands[1].stop] and bands[2].stop == 640
    assert bands[1].stop - bands[1].start == 96 == bands[2].stop - bands[2].start


def test_whitening_gives_the_closed_form_spectrum():
    """After ZCA with floor eps the training covariance has eigenvalues lambda / (lambda +
    eps) along the original eigenvectors."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 4)) @ np.diag([3.0, 1.0, 0.5, 0.1])
    mean, white = whitening(x)
    values = np.linalg.eigvalsh(np.cov(x, rowvar=False))
    eps = WHITENING_FLOOR * values.mean()
    after = np.linalg.eigvalsh(np.cov((x - mean) @ white, rowvar=False))
    assert np.allclose(np.sort(after), np.sort(values / (values + eps)), rtol=1e-6)
    assert np.allclose(white, white.T)


def test_patch_splits_come_from_separate_regions_and_are_whitened():
    data = load_data("patches", valid_fraction=0.15, test_fraction=0.15)
    assert data.dim == 64 and data.image_shape == (8, 8) and data.kind == "continuous"
    widths = [_bands(im.shape[1], 0.15, 0.15) for im in grey_photographs()]
    rows = [(im.shape[0] - 8) // 4 + 1 for im in grey_photographs()]
    counts = [sum(r * ((w[k].stop - w[k].start - 8) // 4 + 1)
                  for r, w in zip(rows, widths, strict=True)) for k in range(3)]
    assert [len(data.train), len(data.valid), len(data.test)] == counts
    cov = np.cov(data.train.numpy(), rowvar=False)
    assert np.abs(data.train.numpy().mean(0)).max() < 1e-4
    assert np.linalg.eigvalsh(cov).max() < 1.001
    with pytest.raises(DataError, match="data.patch_size"):
        load_data("patches", patch_size=12)


def test_a_wrong_patch_size_is_refused_in_one_line(tmp_path):
    result = invoke(["train", "circuits/equilibrium_patches.yaml", "--out", tmp_path / "p",
                     "--set", "data.patch_size=12", "--dry-run"])
    assert result.exit_code != 0 and "data.patch_size" in result.output
    assert result.output.strip().count("\n") == 0


def test_spectrum_comparison_reads_zero_for_the_same_law_and_log4_for_twice_the_scale():
    from biovw.reports.patches import compare_spectra

    rng = np.random.default_rng(1)
    x = rng.normal(size=(200_000, 5)) * np.array([3.0, 2.0, 1.0, 0.5, 0.2])
    same = compare_spectra(x[:100_000], x[100_000:])
    assert same["log_ratio"] < 0.02 and abs(same["largest"] / same["largest_data"] - 1) < 0.02
    doubled = compare_spectra(2 * x[:100_000], x[100_000:])
    assert abs(doubled["log_ratio"] - np.log(4)) < 0.02
    assert doubled["top_share"] == pytest.approx(doubled["top_share_data"], abs=0.01)


def test_signed_images_are_shown_on_a_symmetric_scale():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from biovw.plots.samples import _show_tiles

    fig, ax = plt.subplots()
    signed = _show_tiles(ax, np.linspace(-2, 2, 16).reshape(4, 4), (4, 4))
    image = ax.get_images()[0]
    assert "mid-grey = 0" in signed and image.norm.vmin == -image.norm.vmax
    grey = _show_tiles(ax, np.linspace(0, 1, 16).reshape(4, 4), (4, 4))
    assert "white = 0, black = 1" in grey
    plt.close(fig)


def test_excess_kurtosis_reads_zero_for_gaussian_and_three_for_laplace_pixels():
    from biovw.reports.patches import excess_kurtosis

    rng = np.random.default_rng(2)
    assert abs(excess_kurtosis(rng.normal(size=(200_000, 3)))) < 0.05
    assert abs(excess_kurtosis(rng.laplace(size=(200_000, 3))) - 3.0) < 0.15
