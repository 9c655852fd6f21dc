"""The project's results: the tables and figures of the documentation, each made by one
command over trained runs, and the pages they are written into.

Every module with a ``main`` is a command, run from the repository root::

    python -m biovw.reports.results TABLE        # train over seeds, score on test, tabulate
    python -m biovw.reports.stationarity         # biovw stationarity over the tables' runs
    python -m biovw.reports.mixing               # biovw mixing over the tables' runs
    python -m biovw.reports.speed --page docs/performance.md
    python -m biovw.reports.brian --page docs/brian2.md
    python -m biovw.reports.ep_bias --page docs/entropy-production.md
    python -m biovw.reports.figures RUN --page docs/experiments.md

:mod:`biovw.reports.pages` says where tables are stored and how they reach the pages. Nothing
else in the package imports the reports, but the command line's ``epbench --page``.
"""
