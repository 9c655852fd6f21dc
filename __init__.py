"""The repository root: imported as a package only when Python runs beside a clone whose
folder is named ``biovw`` (a script next to the clone). Without this file the root would
become a namespace package ``biovw`` that shadows the installed one, and ``biovw.analysis``
would be the ``analysis/`` scripts folder. Here the import is handed to the real package,
``biovw/`` inside this folder, so ``import biovw`` means the same wherever it runs.
"""

from pathlib import Path as _Path

_PACKAGE = _Path(__file__).resolve().parent / "biovw"
__path__ = [str(_PACKAGE)]
__file__ = str(_PACKAGE / "__init__.py")
exec(compile(_PACKAGE.joinpath("__init__.py").read_text(), __file__, "exec"))
