"""A circuit that leaves with its user: the description and a Brian2 script that runs it.

:func:`write_export` writes into one folder::

    circuit/circuit.json, circuit/circuit.npz   the description (RateSpec.save)
    rate_spec.py                                 reads it (a copy of biovw/spec.py)
    brian_rate_network.py                        the network (a copy of biovw/brian/network.py)
    simulate_circuit.py                          the command line (biovw/brian/circuit_script.py)

The two modules are this library's own, copied verbatim: they import numpy, json and brian2
only, so the folder runs with ``pip install brian2 'numpy<2.4'`` and no biovw.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from biovw import spec as description
from biovw.brian import network
from biovw.spec import RateSpec

FILES = {
    "rate_spec.py": description.__file__,
    "brian_rate_network.py": network.__file__,
    # a script, not importable here: it imports the two copies above by their exported names
    "simulate_circuit.py": str(Path(__file__).with_name("circuit_script.py")),
}
"""Exported file name -> the module it copies."""

DESCRIPTION = "circuit"
"""Folder of the description inside an export."""


def write_export(spec: RateSpec, folder: str | Path) -> list[Path]:
    """Write ``spec`` and the standalone Brian2 script into ``folder`` (created if needed).

    Parameters
    ----------
    spec : RateSpec
        The circuit description.
    folder : str or Path
        Where to write; files of the same names are replaced.

    Returns
    -------
    list of Path
        The description's JSON file, then the three Python files.
    """
    folder = Path(folder)
    written = [spec.save(folder / DESCRIPTION)]
    for name, source in FILES.items():
        written.append(Path(shutil.copyfile(source, folder / name)))
    return written
