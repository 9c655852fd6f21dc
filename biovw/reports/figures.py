"""The experiments page's figures: those of one finished run, copied to ``docs/figures`` and shown
between ``<!-- results:figures -->`` markers (``--set images``: an image run's figures, copied
to ``docs/figures/images`` and shown between ``<!-- results:figures_images -->`` markers).

Usage::

    biovw train circuits/rate_net.yaml --seed 0 --out runs/figures
    biovw analyze runs/figures --seed 0
    python -m biovw.reports.figures runs/figures --page docs/experiments.md

    biovw stationarity runs/mnist --n 1000 --split test
    python -m biovw.reports.figures runs/mnist --set images --page docs/experiments.md

The run must be finished and analysed (``figures/currents.png``); figures it lacks (for
example ``entropy_production.png`` of a run trained with ``train.ep_every: 0``) are refused by
name. The caption names the run's config, seed, the commit and the date, so the figures can be
traced to the command that made them.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from biovw.reports.pages import REPO, environment, splice

FIGURES: tuple[tuple[str, str], ...] = (
    ("samples_vs_data.png", "held-out data and samples of the chain after the cool-down"),
    ("walkback_path.png", "one held-out example heated through the schedule (data to noise) "
                          "and one chain cooled down from the prior (noise to a sample)"),
    ("chain_over_time.png", "the chain's samples at increasing numbers of T = 1 steps"),
    ("currents.png", "the stationary probability current of the learned circuit over its "
                     "density (`biovw analyze`)"),
    ("entropy_production.png", "entropy production of the T = 1 chain during training "
                               "(`train.ep_every`)"),
    ("alignment.png", "angle between the recurrent weights and the feedback matrix during "
                      "training"),
    ("loss_curve.png", "the negative bound on the training batch and a held-out batch"),
)
"""The figures shown, in order, with what each shows."""

IMAGE_FIGURES: tuple[tuple[str, str], ...] = (
    ("samples_vs_data.png", "held-out images and samples of the chain after the cool-down"),
    ("walkback_path.png", "one held-out image heated through the schedule (data to noise) and "
                          "one chain cooled down from the prior (noise to a sample)"),
    ("stationarity_samples.png", "the same chains after 0, 10, 100, 1,000 and 10,000 extra "
                                 "T = 1 steps (`biovw stationarity`)"),
    ("stationarity.png", "sample quality of those chains against the number of extra steps, "
                         "with the data floor"),
    ("loss_curve.png", "the negative bound on the training batch and a held-out batch"),
)
"""The figures of an image run (``--set images``)."""

FIGURE_SETS: dict[str, tuple[str, str, tuple[tuple[str, str], ...], str]] = {
    "default": ("figures", ".", FIGURES, "train with train.ep_every > 0 and run biovw analyze "
                                         "RUN first"),
    "images": ("figures_images", "images", IMAGE_FIGURES, "run biovw stationarity RUN "
                                                          "first"),
}
"""``--set``: the page marker, the folder under ``--out``, the figures and how to make the
ones a run lacks."""


def copy_figures(run: Path, out: Path, figures: tuple[tuple[str, str], ...] = FIGURES,
                 hint: str = FIGURE_SETS["default"][3]) -> list[Path]:
    """Copy ``figures`` from ``run/figures`` to ``out``; SystemExit naming a missing one."""
    missing = [name for name, _ in figures if not (run / "figures" / name).is_file()]
    if missing:
        raise SystemExit(f"{run / 'figures'}: missing {', '.join(missing)} ({hint})")
    out.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(run / "figures" / name, out / name)) for name, _ in figures]


def markdown(run: Path, out: Path, readme: Path,
             figures: tuple[tuple[str, str], ...] = FIGURES, figure_set: str = "default") -> str:
    """The page section: each figure with its caption, then where they come from."""
    config = yaml.safe_load((run / "config.yaml").read_text())
    env = environment()
    lines = []
    option = "" if figure_set == "default" else f" --set {figure_set}"
    for name, caption in figures:
        link = Path(os.path.relpath((out / name).resolve(), readme.resolve().parent))
        lines += [f"![{caption}]({link.as_posix()})", "", f"*{caption}.*", ""]
    lines.append(f"Figures of one run (config `{config['name']}`, seed {config['seed']}), "
                 f"copied by `python -m biovw.reports.figures RUN{option} "
                 "--page docs/experiments.md` on "
                 f"{datetime.date.today().isoformat()} at commit {env['commit']}.")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="A finished, analysed run directory.")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "figures",
                        help="Where the figures are copied [default: docs/figures].")
    parser.add_argument("--page", "--readme", dest="readme", type=Path, default=None,
                        help="Replace the marked figures section in this file.")
    parser.add_argument("--set", dest="figure_set", choices=sorted(FIGURE_SETS),
                        default="default",
                        help="Which figures: the default job's or an image run's.")
    args = parser.parse_args(argv)
    if not (args.run / "summary.json").is_file():
        raise SystemExit(f"{args.run}: not a finished run (no summary.json)")
    marker, folder, figures, hint = FIGURE_SETS[args.figure_set]
    out = args.out / folder
    copy_figures(args.run, out, figures, hint)
    if args.readme is not None:
        text = markdown(args.run, out, args.readme, figures, args.figure_set)
        if not splice(args.readme, marker, text):
            raise SystemExit(f"{args.readme}: no <!-- results:{marker} --> markers")
        print(text)


if __name__ == "__main__":
    main()
