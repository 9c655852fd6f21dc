"""``import biovw`` means the package wherever Python runs, even beside a clone whose folder
is named ``biovw`` (where the repository root would otherwise shadow it as a namespace
package and ``biovw.analysis`` would be the ``analysis/`` scripts folder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_script_beside_a_clone_named_biovw_imports_the_package(tmp_path):
    (tmp_path / "biovw").symlink_to(REPO, target_is_directory=True)
    code = ("import biovw, biovw.analysis\n"
            "from biovw.analysis import entropy_production_kernel\n"
            "from biovw.walkback import WalkbackModel\n"
            "print(biovw.__version__, biovw.analysis.__file__)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    version, analysis = done.stdout.split()
    assert Path(analysis).resolve() == REPO / "biovw" / "analysis" / "__init__.py"
