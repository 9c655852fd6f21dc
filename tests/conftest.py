import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def drawn(monkeypatch):
    """The matplotlib figures the run-figure functions draw, kept instead of saved (and
    closed afterwards)."""
    figures = []

    def keep(fig, path):
        figures.append(fig)
        return path

    for module in ("samples", "training", "currents", "walk"):
        monkeypatch.setattr(f"biovw.plots.{module}.save_figure", keep)
    yield figures
    import matplotlib.pyplot as plt

    plt.close("all")
