"""The README's Python API example runs as written."""

import re
from pathlib import Path


def test_python_api_example_runs(tmp_path, monkeypatch):
    readme = Path(__file__).parents[1].joinpath("README.md").read_text()
    section = readme.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "circuits").symlink_to(Path(__file__).parents[1] / "circuits")
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "runs" / "api-demo" / "checkpoints" / "latest.pt").is_file()
